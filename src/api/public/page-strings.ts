export type PageLocale = 'de' | 'en';

export const acceptStrings = {
  de: {
    title: 'Einladung annehmen',
    loading: 'Einladung wird geprüft …',
    greeting: 'Willkommen, {username}!',
    intro: 'Wählen Sie ein Passwort für Ihr Konto. Damit nehmen Sie die Einladung an.',
    validUntil: 'Dieser Link ist gültig bis {date}.',
    password: 'Neues Passwort',
    passwordHint: 'Mindestens 8 Zeichen, empfohlen sind 15 oder mehr. Ein Satz aus mehreren Wörtern ist leicht zu merken.',
    confirm: 'Passwort wiederholen',
    submit: 'Passwort festlegen',
    submitting: 'Wird gespeichert …',
    tooShort: 'Das Passwort muss mindestens 8 Zeichen lang sein.',
    mismatch: 'Die beiden Passwörter stimmen nicht überein.',
    rejected: 'Dieses Passwort ist nicht erlaubt: Es wird zu häufig benutzt oder enthält Ihren Benutzernamen oder Ihre E-Mail-Adresse. Bitte wählen Sie ein anderes.',
    doneTitle: 'Ihr Konto ist aktiv',
    done: 'Ihr Passwort ist gesetzt. Sie können sich jetzt mit Ihrem Benutzernamen oder Ihrer E-Mail-Adresse anmelden.',
    goneTitle: 'Dieser Link ist nicht mehr gültig',
    gone: 'Der Einladungslink wurde bereits benutzt, zurückgezogen oder ist abgelaufen.',
    goneNext: 'Haben Sie bereits ein Passwort gesetzt, melden Sie sich einfach an. Sonst können Sie über „Passwort vergessen“ ein neues Passwort anfordern oder die Person, die Sie eingeladen hat, um eine neue Einladung bitten.',
    forgot: 'Passwort vergessen',
    missingTitle: 'Der Link ist unvollständig',
    missing: 'Öffnen Sie den Link bitte genau so, wie er in der E-Mail steht, oder kopieren Sie ihn vollständig in die Adresszeile.',
    failed: 'Das hat nicht geklappt. Bitte versuchen Sie es in einem Moment erneut.',
    noscript: 'Diese Seite braucht JavaScript, um den persönlichen Link sicher zu lesen. Bitte aktivieren Sie JavaScript.',
    show: 'Passwort anzeigen',
  },
  en: {
    title: 'Accept your invitation',
    loading: 'Checking your invitation …',
    greeting: 'Welcome, {username}!',
    intro: 'Choose a password for your account. This accepts the invitation.',
    validUntil: 'This link is valid until {date}.',
    password: 'New password',
    passwordHint: 'At least 8 characters; 15 or more recommended. A sentence of several words is easy to remember.',
    confirm: 'Repeat password',
    submit: 'Set password',
    submitting: 'Saving …',
    tooShort: 'The password must be at least 8 characters long.',
    mismatch: 'The two passwords do not match.',
    rejected: 'This password is not allowed: it is too commonly used or contains your username or email address. Please choose another.',
    doneTitle: 'Your account is active',
    done: 'Your password is set. You can now sign in with your username or email address.',
    goneTitle: 'This link is no longer valid',
    gone: 'The invitation link was already used, revoked, or has expired.',
    goneNext: 'If you already set a password, just sign in. Otherwise request a new password via "forgot password", or ask the person who invited you for a new invitation.',
    forgot: 'Forgot password',
    missingTitle: 'The link is incomplete',
    missing: 'Please open the link exactly as it appears in the email, or copy all of it into the address bar.',
    failed: 'That did not work. Please try again in a moment.',
    noscript: 'This page needs JavaScript to read your personal link safely. Please enable JavaScript.',
    show: 'Show password',
  },
} satisfies Record<PageLocale, Record<string, string>>;

/** ?lang= wins (links carry the invitee's language), then Accept-Language, then German. */
export function pageLocale(lang: string | undefined, acceptLanguage: string | undefined): PageLocale {
  if (lang === 'de' || lang === 'en') return lang;
  const first = acceptLanguage?.split(',').map((p) => p.trim().slice(0, 2).toLowerCase()).find((p) => p === 'de' || p === 'en');
  return (first as PageLocale | undefined) ?? 'de';
}
