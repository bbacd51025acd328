import { describe, it, expect } from 'vitest';
import { locales } from '../emails/i18n.js';
import { renderInvitationEmail, renderPasswordResetEmail } from '../emails/render.js';

const base = {
  username: 'erika.mustermann',
  expiresAt: '2026-12-23T10:00:00.000Z',
  timeZone: 'Europe/Berlin',
  productName: 'Beispielplattform',
};
const link = (path: string, lang: string) => `http://localhost:3000/${path}?lang=${lang}#token=AbC-_123`;
const subjects = {
  invitation: { de: 'Ihre Einladung zu Beispielplattform', en: 'Your invitation to Beispielplattform' },
  reset: { de: 'Passwort für Beispielplattform zurücksetzen', en: 'Reset your Beispielplattform password' },
};
const zoneName = { de: 'MEZ', en: 'CET' };

/** The href attribute values in rendered html, entity-decoded as a mail client would read them. */
function hrefs(html: string): string[] {
  return [...html.matchAll(/href="([^"]*)"/g)].map((m) => (m[1] ?? '').replaceAll('&amp;', '&'));
}

describe.each(locales)('emails in %s', (locale) => {
  it('the invitation carries the personal link as button and as plain text, valid until the local expiry', async () => {
    const url = link('invitations/accept', locale);
    const mail = await renderInvitationEmail({ ...base, locale, invitationUrl: url });

    expect(mail.subject).toBe(subjects.invitation[locale]);
    expect(hrefs(mail.html).filter((h) => h === url)).toHaveLength(2);
    expect(mail.html).toContain(`>${url}</a>`);
    expect(mail.text.split('\n').some((line) => line.trim().endsWith(url))).toBe(true);
    for (const body of [mail.html, mail.text]) {
      expect(body).toContain(base.username);
      expect(body).toContain('23');
      expect(body).toContain('11:00');
      expect(body).toContain(zoneName[locale]);
    }
    expect(mail.html).toContain(`lang="${locale}"`);
  });

  it('the password reset carries the link and says the password stays unchanged if not requested', async () => {
    const url = link('password-reset', locale);
    const mail = await renderPasswordResetEmail({ ...base, locale, resetUrl: url });

    expect(mail.subject).toBe(subjects.reset[locale]);
    expect(hrefs(mail.html).filter((h) => h === url)).toHaveLength(2);
    expect(mail.text).toContain(url);
    for (const body of [mail.html, mail.text]) {
      expect(body).toContain(base.username);
      expect(body).toContain('11:00');
    }
    expect(mail.text).toContain(locale === 'de' ? 'Ihr Passwort bleibt unverändert' : 'Your password stays unchanged');
  });
});

describe('email escaping', () => {
  it('a username with markup is escaped in html and kept verbatim in text', async () => {
    const username = '<script>alert("x")</script> & Co';
    const mail = await renderInvitationEmail({
      ...base,
      locale: 'en',
      username,
      invitationUrl: link('invitations/accept', 'en'),
    });
    expect(mail.html).not.toContain('<script>');
    expect(mail.html).toContain('&lt;script&gt;');
    expect(mail.text).toContain(username);
  });

  it('a link with & and # survives as an href attribute in html and verbatim in text', async () => {
    const url = 'http://localhost:3000/invitations/accept?a=1&lang=de#token=AbC-_123';
    const mail = await renderInvitationEmail({ ...base, locale: 'de', invitationUrl: url });
    expect(mail.html).toContain('href="http://localhost:3000/invitations/accept?a=1&amp;lang=de#token=AbC-_123"');
    expect(mail.text).toContain(url);
  });

  it('a long link is not wrapped in the plain text', async () => {
    const url = `http://localhost:3000/invitations/accept?lang=de#token=${'x'.repeat(200)}`;
    const mail = await renderInvitationEmail({ ...base, locale: 'de', invitationUrl: url });
    expect(mail.text.split('\n').filter((line) => line.includes(url)).length).toBe(2);
  });

  it('the expiry is shown in the platform time zone, not UTC', async () => {
    const mail = await renderInvitationEmail({
      ...base,
      locale: 'en',
      // summer time: 10:00 UTC is 12:00 in Berlin
      expiresAt: '2026-07-01T10:00:00.000Z',
      invitationUrl: link('invitations/accept', 'en'),
    });
    expect(mail.text).toContain('12:00 CEST');
    expect(mail.text).not.toContain('10:00');
  });
});
