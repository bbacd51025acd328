export type Locale = 'de' | 'en';

export const locales = ['de', 'en'] as const satisfies readonly Locale[];

export function isLocale(value: unknown): value is Locale {
  return (locales as readonly unknown[]).includes(value);
}

// en-GB rather than en-US: a 24-hour clock and "CET" instead of "GMT+1" for European time zones.
export const dateLocales: Record<Locale, string> = { de: 'de-DE', en: 'en-GB' };

/**
 * How a link's deadline is written, in the mails and on the link pages (the pages get it in
 * their strings, so both say the same): date and time in the platform's zone, the zone named.
 */
export const EXPIRY_FORMAT: Intl.DateTimeFormatOptions = { day: 'numeric', month: 'long', year: 'numeric', hour: '2-digit', minute: '2-digit', timeZoneName: 'short' };

/** Formats an ISO instant in the platform time zone, naming the zone ("23. Dezember 2026 um 11:00 MEZ"). */
export function formatExpiry(expiresAt: string, locale: Locale, timeZone: string): string {
  const instant = new Date(expiresAt);
  if (Number.isNaN(instant.getTime())) throw new RangeError(`expiresAt is not a valid instant: ${expiresAt}`);
  return new Intl.DateTimeFormat(dateLocales[locale], { ...EXPIRY_FORMAT, timeZone }).format(instant);
}

export interface LinkMailStrings {
  subject: (productName: string) => string;
  preview: (productName: string) => string;
  greeting: (username: string) => string;
  body: (productName: string) => string;
  button: string;
  validUntil: (formattedDate: string) => string;
  copyLink: string;
  ignore: string;
}

export const invitationStrings: Record<Locale, LinkMailStrings> = {
  de: {
    subject: (p) => `Ihre Einladung zu ${p}`,
    preview: (p) => `Sie wurden zu ${p} eingeladen – legen Sie jetzt Ihr Passwort fest.`,
    greeting: (u) => `Hallo ${u},`,
    body: (p) =>
      `Sie wurden zu ${p} eingeladen. Bitte legen Sie über Ihren persönlichen Link ein Passwort fest, um Ihr Konto zu aktivieren.`,
    button: 'Passwort festlegen',
    validUntil: (d) => `Dieser Link ist gültig bis ${d}.`,
    copyLink: 'Falls die Schaltfläche nicht funktioniert, kopieren Sie diesen Link in die Adresszeile Ihres Browsers:',
    ignore: 'Falls Sie diese E-Mail nicht erwartet haben, können Sie sie einfach ignorieren.',
  },
  en: {
    subject: (p) => `Your invitation to ${p}`,
    preview: (p) => `You were invited to ${p} – set your password now.`,
    greeting: (u) => `Hello ${u},`,
    body: (p) => `You were invited to ${p}. Please set a password via your personal link to activate your account.`,
    button: 'Set password',
    validUntil: (d) => `This link is valid until ${d}.`,
    copyLink: "If the button doesn't work, copy this link into your browser's address bar:",
    ignore: "If you didn't expect this email, you can simply ignore it.",
  },
};

export const passwordResetStrings: Record<Locale, LinkMailStrings> = {
  de: {
    subject: (p) => `Passwort für ${p} zurücksetzen`,
    preview: (p) => `Legen Sie ein neues Passwort für ${p} fest.`,
    greeting: (u) => `Hallo ${u},`,
    body: (p) =>
      `wir haben eine Anfrage erhalten, das Passwort für Ihr Konto bei ${p} zurückzusetzen. Über Ihren persönlichen Link können Sie ein neues Passwort festlegen.`,
    button: 'Neues Passwort festlegen',
    validUntil: (d) => `Dieser Link ist gültig bis ${d}.`,
    copyLink: 'Falls die Schaltfläche nicht funktioniert, kopieren Sie diesen Link in die Adresszeile Ihres Browsers:',
    ignore:
      'Falls Sie das Zurücksetzen nicht angefordert haben, ignorieren Sie diese E-Mail bitte. Ihr Passwort bleibt unverändert.',
  },
  en: {
    subject: (p) => `Reset your ${p} password`,
    preview: (p) => `Set a new password for ${p}.`,
    greeting: (u) => `Hello ${u},`,
    body: (p) =>
      `we received a request to reset the password of your ${p} account. You can set a new password via your personal link.`,
    button: 'Set new password',
    validUntil: (d) => `This link is valid until ${d}.`,
    copyLink: "If the button doesn't work, copy this link into your browser's address bar:",
    ignore: "If you didn't request this, please ignore this email. Your password stays unchanged.",
  },
};

/** A few days before the invitation lapses: the same link again (INVITATION_REMINDER). */
export const invitationReminderStrings: Record<Locale, LinkMailStrings> = {
  de: {
    subject: (p) => `Erinnerung: Ihre Einladung zu ${p}`,
    preview: (p) => `Ihre Einladung zu ${p} läuft bald ab – legen Sie jetzt Ihr Passwort fest.`,
    greeting: (u) => `Hallo ${u},`,
    body: (p) =>
      `Sie wurden zu ${p} eingeladen, haben Ihr Konto aber noch nicht aktiviert. Ihr persönlicher Link läuft bald ab; legen Sie bitte vorher ein Passwort fest.`,
    button: 'Passwort festlegen',
    validUntil: (d) => `Dieser Link ist gültig bis ${d}.`,
    copyLink: 'Falls die Schaltfläche nicht funktioniert, kopieren Sie diesen Link in die Adresszeile Ihres Browsers:',
    ignore: 'Falls Sie diese E-Mail nicht erwartet haben, können Sie sie einfach ignorieren.',
  },
  en: {
    subject: (p) => `Reminder: your invitation to ${p}`,
    preview: (p) => `Your invitation to ${p} expires soon – set your password now.`,
    greeting: (u) => `Hello ${u},`,
    body: (p) =>
      `You were invited to ${p} but have not activated your account yet. Your personal link expires soon; please set a password before then.`,
    button: 'Set password',
    validUntil: (d) => `This link is valid until ${d}.`,
    copyLink: "If the button doesn't work, copy this link into your browser's address bar:",
    ignore: "If you didn't expect this email, you can simply ignore it.",
  },
};
