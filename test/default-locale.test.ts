import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, linkFrom, startHarness, type Harness } from './support/harness.js';

/** DEFAULT_LOCALE: the platform's language wherever a request names none (issue 17.4). */
let h: Harness;
beforeAll(async () => {
  h = await startHarness({ config: { DEFAULT_LOCALE: 'en', BULK_INVITES_PER_SECOND: '100' } });
});
afterAll(async () => h?.close());

describe('DEFAULT_LOCALE=en', () => {
  it('an invitation sent without locale is English: the user, the mail and its link', async () => {
    const res = await h.api('POST', '/api/v1/invitations', { username: 'dl.erika', email: 'dl.erika@example.com', userType: 'member' });
    expect(res.status).toBe(201);
    expect(res.body.user.locale).toBe('en');
    const mail = await h.mail.waitFor((m) => m.to.includes('dl.erika@example.com'), 15_000);
    expect(linkFrom(mail.text).url).toContain('?lang=en#token=');
    expect(mail.text).toMatch(/invit/i);
    expect(mail.text).not.toMatch(/Einladung/);
  });

  it('an explicit locale still wins', async () => {
    const res = await h.api('POST', '/api/v1/invitations', { username: 'dl.hans', email: 'dl.hans@example.com', userType: 'member', locale: 'de' });
    expect(res.body.user.locale).toBe('de');
  });

  it('a bulk row without locale is English too', async () => {
    const res = await h.api('POST', '/api/v1/invitations/bulk', 'username,email,userType\ndl.bulk,dl.bulk@example.com,member\n', { 'content-type': 'text/csv' });
    expect(res.status).toBe(202);
    const user = await eventually(async () => h.db.selectFrom('users').select('locale').where('username', '=', 'dl.bulk').executeTakeFirst(), 30_000, 'the bulk row invited');
    expect(user.locale).toBe('en');
  });

  it('the template endpoints without ?locale answer the English template', async () => {
    const res = await h.api('GET', '/api/v1/email-templates/user_invitation');
    expect(res.status).toBe(200);
    expect(res.body.locale).toBe('en');
    const german = await h.api('GET', '/api/v1/email-templates/user_invitation?locale=de');
    expect(german.body.locale).toBe('de');
    expect(german.body.subject).not.toBe(res.body.subject);
  });

  it('a link page opened without ?lang or Accept-Language is English', async () => {
    const page = await h.app.request('/invitations/accept');
    expect(await page.text()).toContain('<html lang="en">');
  });
});
