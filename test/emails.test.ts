import { describe, it, expect } from 'vitest';
import { locales } from '../emails/i18n.js';
import { renderInvitationEmail, renderInvitationReminderEmail, renderPasswordResetEmail } from '../emails/render.js';
import { builtInTemplate } from '../src/email-templates/defaults.js';
import { renderTemplate } from '../src/email-templates/render.js';
import { templateTypes } from '../src/email-templates/variables.js';

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
  reminder: { de: 'Erinnerung: Ihre Einladung zu Beispielplattform', en: 'Reminder: your invitation to Beispielplattform' },
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

describe.each(locales)('the reminder and customised templates in %s', (locale) => {
  it('the reminder carries the invitation link as button and as plain text, valid until the local expiry', async () => {
    const url = link('invitations/accept', locale);
    const mail = await renderInvitationReminderEmail({ ...base, locale, invitationUrl: url });

    expect(mail.subject).toBe(subjects.reminder[locale]);
    expect(hrefs(mail.html).filter((h) => h === url)).toHaveLength(2);
    expect(mail.text).toContain(url);
    for (const body of [mail.html, mail.text]) {
      expect(body).toContain(base.username);
      expect(body).toContain(`11:00 ${zoneName[locale]}`);
    }
  });

  it.each(templateTypes)('the built-in %s, written as a template and rendered as one, reads like the built-in mail', async (type) => {
    const url = link('some/path', locale);
    const values = { ...base, locale, link: url };
    const [asTemplate, builtIn] = await Promise.all([renderTemplate(type, builtInTemplate(type, locale), values), renderTemplate(type, null, values)]);
    expect(asTemplate.subject).toBe(builtIn.subject);
    expect(hrefs(asTemplate.html).filter((h) => h === url)).toHaveLength(2);
    expect(asTemplate.text.replace(/\s+/g, ' ')).toBe(builtIn.text.replace(/\s+/g, ' '));
  });
});

describe('customised templates are safe', () => {
  const values = { ...base, locale: 'en' as const, link: link('invitations/accept', 'en') };

  it('stored markup that was never sanitised is sanitised when the mail is rendered', async () => {
    const mail = await renderTemplate('user_invitation', {
      subject: 'Hi',
      body: '<script>alert(1)</script><p onclick="x()">Hi <a href="javascript:alert(1)">x</a> <a href="{{invitationLink}}">go</a></p><style>p{}</style>',
    }, values);
    expect(mail.html).not.toMatch(/<script|onclick|javascript:|<style>p/);
    expect(mail.html).toContain(`href="${values.link}"`);
  });

  it('a value is never markup: a username with tags is escaped, one that spells a javascript: link is dropped', async () => {
    const mail = await renderTemplate('user_invitation', {
      subject: 'Hi',
      body: '<p>Hi {{username}}</p><p><a href="{{username}}">me</a> {{invitationLink}}</p>',
    }, { ...values, username: '<img src=x onerror=alert(1)>' });
    const escaped = '&lt;img src=x onerror=alert(1)&gt;';
    expect(mail.html).toContain(`Hi ${escaped}</p>`);
    expect(mail.html.split(escaped).join('')).not.toMatch(/<img|onerror/);
    const js = await renderTemplate('user_invitation', { subject: 's', body: '<p><a href="{{username}}">me</a> {{invitationLink}}</p>' }, { ...values, username: 'javascript:alert(1)' });
    expect(js.html).not.toContain('href="javascript:');
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
