import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { invitationWorkflowId } from '../src/workflows/invitation.messages.js';
import { eventually, linkFrom, startHarness, type Harness } from './support/harness.js';

/** R7 over the HTTP API: exact copies from the email log, at a real SMTP server. */
let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => h?.close());

const pub = { authorization: '' };
const mailsTo = (address: string) => h.mail.messages().filter((m) => m.to.includes(address));
const resend = (emailId: string, headers: Record<string, string> = {}) => h.api('POST', `/api/v1/emails/${emailId}/resend`, undefined, headers);

async function invited(username: string) {
  const email = `${username}@example.com`;
  const res = await h.api('POST', '/api/v1/invitations', { username, email, userType: 'member', locale: 'en' });
  expect(res.status).toBe(201);
  const mail = await h.mail.waitFor((m) => m.to.includes(email), 15_000);
  const log = await h.api('GET', `/api/v1/emails?userId=${res.body.user.id}`);
  expect(log.body.items).toHaveLength(1);
  return { userId: res.body.user.id as string, email, mail, emailId: log.body.items[0].id as string };
}

const sentCopy = (emailId: string) =>
  eventually(async () => {
    const row = (await h.api('GET', `/api/v1/emails/${emailId}`)).body;
    return row.status === 'sent' && row;
  }, 20_000, `copy ${emailId} sent`);

describe('re-sending a mail from the email log (R7)', () => {
  it('after an address change, the copy reaches the original address with the same subject and bodies, byte for byte', async () => {
    const first = await invited('copy.carla');
    const patch = await h.api('PATCH', `/api/v1/users/${first.userId}`, { email: 'carla.new@example.com' });
    expect(patch.status).toBe(200);

    const res = await resend(first.emailId, { 'x-actor': 'staff:anna' });
    expect(res.status).toBe(202);
    expect(res.body.email).toMatchObject({ resentFrom: first.emailId, to: first.email, subject: first.mail.subject, type: 'user_invitation' });
    expect(res.body.email.id).not.toBe(first.emailId);
    expect(res.body.warning).toContain('carla.new@example.com');

    const copy = await eventually(async () => mailsTo(first.email).length === 2 && mailsTo(first.email)[0], 20_000, 'the copy');
    expect(copy.subject).toBe(first.mail.subject);
    expect(copy.html).toBe(first.mail.html);
    expect(copy.text).toBe(first.mail.text);
    expect(copy.headers['message-id']).not.toBe(first.mail.headers['message-id']);
    expect(mailsTo('carla.new@example.com')).toEqual([]);

    const logged = await sentCopy(res.body.email.id);
    expect(logged.html).toContain('{{personal_link}}');
    expect(logged.html).not.toContain(linkFrom(first.mail.text).token);
    // Operators see the re-send in the invitation workflow's history, as an update.
    const history = await h.client.workflow.getHandle(invitationWorkflowId(first.userId)).fetchHistory();
    const updates = history.events!.map((e) => e.workflowExecutionUpdateAcceptedEventAttributes?.acceptedRequest?.input?.name).filter(Boolean);
    expect(updates).toEqual(['resend']);
    // The copy's link is the original's, and it works.
    const accept = await h.api('POST', '/api/v1/public/invitations/accept', { token: linkFrom(copy.text).token, password: 'a perfectly fine passphrase' }, pub);
    expect(accept.status).toBe(200);
  });

  it('no warning when the recipient is still the user’s address', async () => {
    const first = await invited('copy.cleo');
    const res = await resend(first.emailId);
    expect(res.status).toBe(202);
    expect(res.body.warning).toBeUndefined();
    await sentCopy(res.body.email.id);
  });

  it('a body with fields ({"to": …}) is refused with 422 naming them and sends nothing; none, or {}, sends the copy (issue 15.7)', async () => {
    const first = await invited('copy.body');
    const post = (body: unknown) => h.api('POST', `/api/v1/emails/${first.emailId}/resend`, body);
    const redirected = await post({ to: 'attacker@evil.example' });
    expect(redirected.status).toBe(422);
    expect(redirected.headers.get('content-type')).toContain('application/problem+json');
    expect(redirected.body.errors).toEqual([{ field: 'to', message: expect.any(String) }]);
    for (const body of [{ subject: 'changed', html: '<p>x</p>' }, [first.email], JSON.stringify('attacker@evil.example'), 'null']) {
      expect((await post(body)).status, JSON.stringify(body)).toBe(422);
    }
    expect((await post('{"to": ')).status).toBe(400);
    expect((await h.api('GET', `/api/v1/emails?userId=${first.userId}`)).body.items).toHaveLength(1);

    const copy = await post({});
    expect(copy.status).toBe(202);
    await sentCopy(copy.body.email.id);
    expect(mailsTo(first.email)).toHaveLength(2);
    expect(mailsTo('attacker@evil.example')).toEqual([]);
  });

  it('an accepted invitation cannot be re-sent (409)', async () => {
    const first = await invited('copy.accepted');
    expect((await h.api('POST', '/api/v1/public/invitations/accept', { token: linkFrom(first.mail.text).token, password: 'a perfectly fine passphrase' }, pub)).status).toBe(200);
    const res = await resend(first.emailId);
    expect(res.status).toBe(409);
    expect(res.body.type).toMatch(/invitation-already-accepted$/);
    expect(mailsTo(first.email)).toHaveLength(1);
  });

  it('a revoked invitation cannot be re-sent (409)', async () => {
    const first = await invited('copy.revoked');
    const invitation = (await h.api('GET', `/api/v1/users/${first.userId}`)).body.invitation;
    expect((await h.api('DELETE', `/api/v1/invitations/${invitation.id}`)).status).toBe(204);
    const res = await resend(first.emailId);
    expect(res.status).toBe(409);
    expect(res.body.detail).toMatch(/revoked/);
    expect(mailsTo(first.email)).toHaveLength(1);
  });

  it('an overwritten user’s invitation cannot be re-sent (409)', async () => {
    const first = await invited('copy.overwritten');
    expect((await h.api('PATCH', `/api/v1/users/${first.userId}`, { username: 'copy.someone.else', email: 'someone.else@example.com' })).status).toBe(200);
    const res = await resend(first.emailId);
    expect(res.status).toBe(409);
    expect(res.body.detail).toMatch(/overwritten/);
    expect(mailsTo(first.email)).toHaveLength(1);
    expect(mailsTo('someone.else@example.com')).toEqual([]);
  });

  it('a double click with the same Idempotency-Key sends one copy, and a retry returns the first answer', async () => {
    const first = await invited('copy.double');
    const key = { 'idempotency-key': 'click-7f3a' };
    const [a, b] = await Promise.all([resend(first.emailId, key), resend(first.emailId, key)]);
    expect([a.status, b.status]).toEqual([202, 202]);
    expect(b.body.email.id).toBe(a.body.email.id);
    await sentCopy(a.body.email.id);
    const again = await resend(first.emailId, key);
    expect(again.status).toBe(202);
    expect(again.body.email.id).toBe(a.body.email.id);
    // The same mail's id in capitals is the same request (Postgres reads UUIDs in any case).
    const shouted = await resend(first.emailId.toUpperCase(), key);
    expect(shouted.status).toBe(202);
    expect(shouted.body.email.id).toBe(a.body.email.id);
    // The copy is sent and its workflow dedupes deliveries by row: no second copy is on its way.
    const rows = await h.db.selectFrom('emails').select(['id', 'status']).where('resent_from', '=', first.emailId).execute();
    expect(rows).toEqual([{ id: a.body.email.id, status: 'sent' }]);
    expect(mailsTo(first.email)).toHaveLength(2);
    // The same key for another mail is a client error, not a silent second meaning.
    const other = await invited('copy.other');
    const reused = await resend(other.emailId, key);
    expect(reused.status).toBe(422);
    expect(reused.body.errors).toEqual([{ field: 'Idempotency-Key', message: 'was already used for another mail' }]);
  });

  it('an Idempotency-Key is the caller’s own: another key using the same value gets its own copy, and is never refused for it', async () => {
    const keyWith = async (name: string) => (await h.api('POST', '/api/v1/api-keys', { name, scopes: ['emails:write'] })).body.key as string;
    const [one, two] = [await keyWith('resend one'), await keyWith('resend two')];
    const as = (key: string) => ({ authorization: `Bearer ${key}`, 'idempotency-key': 'shared-value-1' });
    const first = await invited('copy.shared');
    const a = await resend(first.emailId, as(one));
    expect(a.status).toBe(202);
    const b = await resend(first.emailId, as(two));
    expect(b.status).toBe(202);
    expect(b.body.email.id).not.toBe(a.body.email.id);
    // Each caller's retry finds its own copy.
    expect((await resend(first.emailId, as(one))).body.email.id).toBe(a.body.email.id);
    expect((await resend(first.emailId, as(two))).body.email.id).toBe(b.body.email.id);
    await sentCopy(a.body.email.id);
    await sentCopy(b.body.email.id);
    expect(mailsTo(first.email)).toHaveLength(3);
    // The value another caller used for another mail is free for this one.
    const other = await invited('copy.shared.other');
    const three = await keyWith('resend three');
    const c = await resend(other.emailId, as(three));
    expect(c.status).toBe(202);
    expect(c.body.email.resentFrom).toBe(other.emailId);
  });

  it('a reset mail is re-sent while its link lives, with the same link; a used one answers 410', async () => {
    const first = await invited('copy.reset');
    expect((await h.api('POST', '/api/v1/public/password-resets', { email: first.email }, pub)).status).toBe(202);
    const resetMail = await h.mail.waitFor((m) => m.to.includes(first.email) && m.text.includes('/password/reset'), 15_000);
    const logged = await eventually(async () => {
      const page = (await h.api('GET', `/api/v1/emails?userId=${first.userId}&type=password_reset`)).body;
      return page.items[0]?.status === 'sent' && page.items[0];
    });
    const res = await resend(logged.id);
    expect(res.status).toBe(202);
    const copy = await eventually(async () => {
      const found = mailsTo(first.email).filter((m) => m.text.includes('/password/reset'));
      return found.length === 2 && found[0];
    }, 20_000, 'the reset copy');
    expect(copy.text).toBe(resetMail.text);
    expect(copy.html).toBe(resetMail.html);
    await sentCopy(res.body.email.id);

    const done = await h.api('POST', '/api/v1/public/password-resets/complete', { token: linkFrom(copy.text, '/password/reset').token, password: 'another fine passphrase' }, pub);
    expect(done.status).toBe(200);
    const used = await resend(logged.id);
    expect(used.status).toBe(410);
  });

  it('an unknown mail is a 404', async () => {
    expect((await resend('00000000-0000-4000-8000-000000000000')).status).toBe(404);
    expect((await resend('not-an-id')).status).toBe(404);
  });
});
