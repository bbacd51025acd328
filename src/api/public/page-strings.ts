export type PageLocale = 'de' | 'en';

/**
 * What both link pages (accept an invitation, reset a password) say around the password form
 * and about a link that cannot work. Each page adds its own heading, greeting and outcomes.
 */
const passwordForm = {
  de: {
    validUntil: 'Dieser Link ist gültig bis {date}.',
    password: 'Neues Passwort',
    passwordHint: 'Mindestens 8 Zeichen, empfohlen sind 15 oder mehr. Ein Satz aus mehreren Wörtern ist leicht zu merken.',
    confirm: 'Passwort wiederholen',
    show: 'Passwort anzeigen',
    submit: 'Passwort festlegen',
    submitting: 'Wird gespeichert …',
    tooShort: 'Das Passwort muss mindestens 8 Zeichen lang sein.',
    mismatch: 'Die beiden Passwörter stimmen nicht überein.',
    rejected: 'Dieses Passwort ist nicht erlaubt: Es wird zu häufig benutzt oder enthält Ihren Benutzernamen oder Ihre E-Mail-Adresse. Bitte wählen Sie ein anderes.',
    missingTitle: 'Der Link ist unvollständig',
    missing: 'Öffnen Sie den Link bitte genau so, wie er in der E-Mail steht, oder kopieren Sie ihn vollständig in die Adresszeile.',
    noscript: 'Diese Seite braucht JavaScript, um den persönlichen Link sicher zu lesen. Bitte aktivieren Sie JavaScript.',
  },
  en: {
    validUntil: 'This link is valid until {date}.',
    password: 'New password',
    passwordHint: 'At least 8 characters; 15 or more recommended. A sentence of several words is easy to remember.',
    confirm: 'Repeat password',
    show: 'Show password',
    submit: 'Set password',
    submitting: 'Saving …',
    tooShort: 'The password must be at least 8 characters long.',
    mismatch: 'The two passwords do not match.',
    rejected: 'This password is not allowed: it is too commonly used or contains your username or email address. Please choose another.',
    missingTitle: 'The link is incomplete',
    missing: 'Please open the link exactly as it appears in the email, or copy all of it into the address bar.',
    noscript: 'This page needs JavaScript to read your personal link safely. Please enable JavaScript.',
  },
};

/** Answers any public page may get from the API. {minutes} comes from Retry-After. */
const trouble = {
  de: {
    failed: 'Das hat nicht geklappt. Bitte versuchen Sie es in einem Moment erneut.',
    tooManyOne: 'Zu viele Anfragen. Bitte versuchen Sie es in einer Minute erneut.',
    tooMany: 'Zu viele Anfragen. Bitte versuchen Sie es in {minutes} Minuten erneut.',
    tooManyLater: 'Zu viele Anfragen. Bitte versuchen Sie es später erneut.',
  },
  en: {
    failed: 'That did not work. Please try again in a moment.',
    tooManyOne: 'Too many requests. Please try again in 1 minute.',
    tooMany: 'Too many requests. Please try again in {minutes} minutes.',
    tooManyLater: 'Too many requests. Please try again later.',
  },
};

export const acceptStrings = {
  de: {
    ...passwordForm.de,
    ...trouble.de,
    title: 'Einladung annehmen',
    loading: 'Einladung wird geprüft …',
    greeting: 'Willkommen, {username}!',
    intro: 'Wählen Sie ein Passwort für Ihr Konto. Damit nehmen Sie die Einladung an.',
    doneTitle: 'Ihr Konto ist aktiv',
    done: 'Ihr Passwort ist gesetzt. Sie können sich jetzt mit Ihrem Benutzernamen oder Ihrer E-Mail-Adresse anmelden.',
    continueTo: 'Weiter zu {host}',
    goneTitle: 'Dieser Link ist nicht mehr gültig',
    gone: 'Der Einladungslink wurde bereits benutzt, zurückgezogen oder ist abgelaufen.',
    goneNext: 'Haben Sie bereits ein Passwort gesetzt, melden Sie sich einfach an. Sonst können Sie über „Passwort vergessen“ ein neues Passwort anfordern oder die Person, die Sie eingeladen hat, um eine neue Einladung bitten.',
    goneLink: 'Passwort vergessen',
  },
  en: {
    ...passwordForm.en,
    ...trouble.en,
    title: 'Accept your invitation',
    loading: 'Checking your invitation …',
    greeting: 'Welcome, {username}!',
    intro: 'Choose a password for your account. This accepts the invitation.',
    doneTitle: 'Your account is active',
    done: 'Your password is set. You can now sign in with your username or email address.',
    continueTo: 'Continue to {host}',
    goneTitle: 'This link is no longer valid',
    gone: 'The invitation link was already used, revoked, or has expired.',
    goneNext: 'If you already set a password, just sign in. Otherwise request a new password via "forgot password", or ask the person who invited you for a new invitation.',
    goneLink: 'Forgot password',
  },
} satisfies Record<PageLocale, Record<string, string>>;

export const resetStrings = {
  de: {
    ...passwordForm.de,
    ...trouble.de,
    title: 'Neues Passwort festlegen',
    loading: 'Link wird geprüft …',
    greeting: 'Legen Sie ein neues Passwort für {username} fest.',
    intro: 'Mit dem neuen Passwort ist Ihr Konto wieder aktiv.',
    doneTitle: 'Ihr neues Passwort ist gesetzt',
    done: 'Ihr neues Passwort ist gesetzt und Ihr Konto ist aktiv. Sie können sich jetzt anmelden.',
    goneTitle: 'Dieser Link ist nicht mehr gültig',
    gone: 'Dieser Link ist ungültig, wurde bereits benutzt oder ist abgelaufen. Fordern Sie bitte einen neuen an.',
    goneNext: '',
    goneLink: 'Neuen Link anfordern',
  },
  en: {
    ...passwordForm.en,
    ...trouble.en,
    title: 'Set a new password',
    loading: 'Checking your link …',
    greeting: 'Set a new password for {username}.',
    intro: 'With the new password your account is active again.',
    doneTitle: 'Your new password is set',
    done: 'Your new password is set and your account is active. You can sign in now.',
    goneTitle: 'This link is no longer valid',
    gone: 'This link is invalid, was already used, or has expired — request a new one.',
    goneNext: '',
    goneLink: 'Request a new link',
  },
} satisfies Record<PageLocale, Record<string, string>>;

export const forgotStrings = {
  de: {
    ...trouble.de,
    title: 'Passwort vergessen',
    intro: 'Geben Sie die E-Mail-Adresse Ihres Kontos ein. Wir senden Ihnen einen Link, mit dem Sie ein neues Passwort festlegen können.',
    email: 'E-Mail-Adresse',
    submit: 'Link anfordern',
    submitting: 'Wird gesendet …',
    emailMissing: 'Bitte geben Sie Ihre E-Mail-Adresse ein.',
    emailInvalid: 'Bitte geben Sie eine gültige E-Mail-Adresse ein, zum Beispiel name@beispiel.de.',
    sentTitle: 'Prüfen Sie Ihr Postfach',
    sent: 'Falls zu dieser Adresse ein Konto besteht, haben wir Ihnen einen Link geschickt, mit dem Sie ein neues Passwort festlegen können. Der Link ist nur für begrenzte Zeit gültig. Sehen Sie bitte auch in Ihrem Spam-Ordner nach.',
    noscript: 'Diese Seite braucht JavaScript. Bitte aktivieren Sie JavaScript.',
  },
  en: {
    ...trouble.en,
    title: 'Forgot your password?',
    intro: 'Enter the email address of your account. We will send you a link to set a new password.',
    email: 'Email address',
    submit: 'Send link',
    submitting: 'Sending …',
    emailMissing: 'Please enter your email address.',
    emailInvalid: 'Please enter a valid email address, for example name@example.com.',
    sentTitle: 'Check your inbox',
    sent: "If an account exists for this address, we've sent a link to set a new password. It is valid for a limited time. Check your spam folder.",
    noscript: 'This page needs JavaScript. Please enable JavaScript.',
  },
} satisfies Record<PageLocale, Record<string, string>>;

/** ?lang= wins (links carry the recipient's language), then Accept-Language, then DEFAULT_LOCALE. */
export function pageLocale(lang: string | undefined, acceptLanguage: string | undefined, fallback: PageLocale): PageLocale {
  if (lang === 'de' || lang === 'en') return lang;
  const first = acceptLanguage?.split(',').map((p) => p.trim().slice(0, 2).toLowerCase()).find((p) => p === 'de' || p === 'en');
  return (first as PageLocale | undefined) ?? fallback;
}
