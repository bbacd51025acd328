import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { invitationWorkflowId } from '../src/workflows/invitation.messages.js';
import { eventually, linkFrom, startHarness, type Harness } from './support/harness.js';

/** R9 and R12 over the HTTP API, on the dev server, Postgres and a real SMTP catcher. */
let h: Harness;
let short: Harness; // invitations live 3 s, reset links 2 s: for "expired" without waiting weeks
beforeAll(async () => {
  [h, short] = await Promise.all([startHarness(), startHarness({ config: { INVITATION_TTL: '3s', PASSWORD_RESET_TTL: '2s' } })]);
});
afterAll(async () => {
  await Promise.all([h?.close(), short?.close()]);
});

const pub = { authorization: '' };
const requestReset = (harness: Harness, email: string) => harness.api('POST', '/api/v1/public/password-resets', { email }, pub);
const complete = (harness: Harness, token: string, password: string) => harness.api('POST', '/api/v1/public/password-resets/complete', { token, password }, pub);
const login = (harness: Harness, loginName: string, password: string) => harness.api('POST', '/api/v1/public/login', { login: loginName, password }, pub);

async function invited(harness: Harness, username: string, email = `${username}@example.com`) {
  const res = await harness.api('POST', '/api/v1/invitations', { username, email, userType: 'member', locale: 'en' });
  expect(res.status).toBe(201);
  const mail = await harness.mail.waitFor((m) => m.to.some((to) => to.toLowerCase() === email.toLowerCase()));
  return { user: res.body.user as { id: string; email: string }, invitationId: res.body.invitation.id as string, invitationToken: linkFrom(mail.text).token };
}

async function resetMail(harness: Harness, to: string, after = 0) {
  const mail = await harness.mail.waitFor((m) => m.to.includes(to) && m.text.includes('/password/reset') && Date.parse(m.receivedAt) >= after, 15_000);
  return linkFrom(mail.text, '/password/reset');
}

async function activeUser(harness: Harness, username: string) {
  const { user, invitationToken } = await invited(harness, username);
  expect((await harness.api('POST', '/api/v1/public/invitations/accept', { token: invitationToken, password: 'the first good passphrase' }, pub)).status).toBe(200);
  return user;
}

describe('forgot password (R9)', () => {
  it('answers the same status and body for a known and an unknown address, and mails only the known one', async () => {
    const user = await activeUser(h, 'known.kim');
    const before = (await h.api('GET', `/api/v1/users/${user.id}`)).body;
    const known = await requestReset(h, 'known.kim@example.com');
    const unknown = await requestReset(h, 'nobody.here@example.com');
    expect(known.status).toBe(202);
    expect(unknown.status).toBe(202);
    expect(JSON.stringify(unknown.body)).toBe(JSON.stringify(known.body));
    // Date, and the per-client limit's countdown of the caller's own requests, differ by design.
    const sameEither = ([k]: [string, string]) => k !== 'date' && k !== 'ratelimit-remaining' && k !== 'ratelimit-reset';
    expect([...unknown.headers.entries()].filter(sameEither)).toEqual([...known.headers.entries()].filter(sameEither));
    await resetMail(h, 'known.kim@example.com');
    await h.resetWorkflowsSettled(2);
    expect(h.mail.messages().some((m) => m.to.includes('nobody.here@example.com'))).toBe(false);
    // Requesting changed nothing about the account.
    const after = (await h.api('GET', `/api/v1/users/${user.id}`)).body;
    expect(after).toEqual(before);
    expect((await login(h, 'known.kim', 'the first good passphrase')).status).toBe(200);
  });

  it('mails the address stored for the user, not the spelling typed in', async () => {
    await invited(h, 'stored.sue', 'Stored.Sue@Example.com');
    await requestReset(h, '  STORED.SUE@example.COM ');
    const mail = await h.mail.waitFor((m) => m.text.includes('/password/reset') && m.to.some((t) => t.toLowerCase() === 'stored.sue@example.com'));
    expect(mail.headers.to).toContain('Stored.Sue@');
  });

  it('an expired invitee resets the password and is active again, with the address confirmed', async () => {
    const { user } = await invited(short, 'expired.eva');
    await eventually(async () => (await short.api('GET', `/api/v1/users/${user.id}`)).body.status === 'inactive', 20_000, 'expiry');
    const blocked = await login(short, 'expired.eva', 'anything at all here');
    expect(blocked.status).toBe(401); // never had a password
    await requestReset(short, 'expired.eva@example.com');
    const link = await resetMail(short, 'expired.eva@example.com');
    expect(link.url).toMatch(/^http:\/\/localhost:3999\/password\/reset\?lang=en#token=/);
    const inspect = await short.api('POST', '/api/v1/public/password-resets/inspect', { token: link.token }, pub);
    expect(inspect.body).toMatchObject({ username: 'expired.eva', locale: 'en' });
    const done = await complete(short, link.token, 'back in the saddle again');
    expect(done.status).toBe(200);
    expect(done.body.user).toMatchObject({ status: 'active', emailVerified: true, deactivatedAt: null });
    expect((await login(short, 'expired.eva@example.com', 'back in the saddle again')).status).toBe(200);
    expect((await complete(short, link.token, 'and once more please')).status).toBe(410); // single use
  });

  it('a newer reset link makes older ones useless, and an address change kills them all', async () => {
    const user = await activeUser(h, 'twice.tom');
    const t0 = Date.now();
    await requestReset(h, 'twice.tom@example.com');
    const first = await resetMail(h, 'twice.tom@example.com', t0 - 1000);
    await requestReset(h, 'twice.tom@example.com');
    const second = await eventually(async () => {
      const mails = h.mail.messages().filter((m) => m.to.includes('twice.tom@example.com') && m.text.includes('/password/reset'));
      return mails.length >= 2 && linkFrom(mails.find((m) => linkFrom(m.text, '/password/reset').token !== first.token)!.text, '/password/reset');
    });
    expect((await complete(h, first.token, 'first link should be dead')).status).toBe(410);

    const patched = await h.api('PATCH', `/api/v1/users/${user.id}`, { email: 'tom.new@example.com' });
    expect(patched.status).toBe(200);
    expect(patched.body).toMatchObject({ email: 'tom.new@example.com', emailVerified: false });
    expect((await complete(h, second.token, 'second link died with the address')).status).toBe(410);
    // The way back is a reset at the new address.
    await requestReset(h, 'tom.new@example.com');
    const third = await resetMail(h, 'tom.new@example.com');
    expect((await complete(h, third.token, 'third time lucky with tom')).status).toBe(200);
  });

  it('an expired reset link answers 410', async () => {
    await activeUser(short, 'slow.sam');
    await requestReset(short, 'slow.sam@example.com');
    const link = await resetMail(short, 'slow.sam@example.com');
    await new Promise((r) => setTimeout(r, 2500)); // PASSWORD_RESET_TTL is 2 s in this harness
    expect((await short.api('POST', '/api/v1/public/password-resets/inspect', { token: link.token }, pub)).status).toBe(410);
    expect((await complete(short, link.token, 'too late for this one')).status).toBe(410);
  });
});

describe('a reset while the invitation is pending (R12)', () => {
  it('accepts the invitation: active, the invitation link stops working, the workflow ends accepted', async () => {
    const { user, invitationToken } = await invited(h, 'pending.pat');
    await requestReset(h, 'pending.pat@example.com');
    const link = await resetMail(h, 'pending.pat@example.com');
    expect((await complete(h, link.token, 'accepted by resetting it')).status).toBe(200);
    const accept = await h.api('POST', '/api/v1/public/invitations/accept', { token: invitationToken, password: 'another passphrase here' }, pub);
    expect(accept.status).toBe(410);
    const final = await h.client.workflow.getHandle(invitationWorkflowId(user.id)).result();
    expect(final.outcome).toBe('accepted');
    const view = await h.api('GET', `/api/v1/users/${user.id}`);
    expect(view.body).toMatchObject({ status: 'active', invitation: { status: 'accepted' } });
  });

  it('after an address change the response says what to do next; the reset at the new address ends the old link', async () => {
    const { user, invitationToken } = await invited(h, 'wrong.wendy', 'wendy@typo.example');
    const patched = await h.api('PATCH', `/api/v1/users/${user.id}`, { email: 'wendy@example.com' });
    expect(patched.status).toBe(200);
    const advice = patched.body.nextSteps.join(' ');
    expect(advice).toContain('"forgot password" with wendy@example.com');
    expect(advice).toContain('wendy@typo.example');
    // R7: the invitation link stays valid for exact copies until the user resets...
    expect((await h.api('POST', '/api/v1/public/invitations/inspect', { token: invitationToken }, pub)).status).toBe(200);
    await requestReset(h, 'wendy@example.com');
    const link = await resetMail(h, 'wendy@example.com');
    expect((await complete(h, link.token, 'finally got the right mail')).status).toBe(200);
    // ...and then the link that went to the wrong address is dead.
    expect((await h.api('POST', '/api/v1/public/invitations/accept', { token: invitationToken, password: 'a stranger tries this' }, pub)).status).toBe(410);
    expect((await h.api('GET', `/api/v1/users/${user.id}`)).body).toMatchObject({ status: 'active', email: 'wendy@example.com', invitation: { status: 'accepted' } });
  });

  it('revoking the invitation kills a reset link requested before it', async () => {
    const { invitationId } = await invited(h, 'early.ed');
    await requestReset(h, 'early.ed@example.com');
    const link = await resetMail(h, 'early.ed@example.com');
    expect((await h.api('DELETE', `/api/v1/invitations/${invitationId}`)).status).toBe(204);
    expect((await complete(h, link.token, 'trying to undo the revoke')).status).toBe(410);
  });
});

describe('token misuse', () => {
  it('refuses a reset token on the invitation endpoint, an invitation token on the reset endpoint, and reuse', async () => {
    const { invitationToken } = await invited(h, 'mixed.max');
    await requestReset(h, 'mixed.max@example.com');
    const reset = await resetMail(h, 'mixed.max@example.com');
    expect((await h.api('POST', '/api/v1/public/invitations/accept', { token: reset.token, password: 'cross purposes one' }, pub)).status).toBe(410);
    expect((await h.api('POST', '/api/v1/public/invitations/inspect', { token: reset.token }, pub)).status).toBe(410);
    expect((await complete(h, invitationToken, 'cross purposes two')).status).toBe(410);
    expect((await h.api('POST', '/api/v1/public/password-resets/inspect', { token: invitationToken }, pub)).status).toBe(410);
    // Both still work for their own purpose afterwards.
    expect((await complete(h, reset.token, 'the right door at last')).status).toBe(200);
  });

  it("one user's reset link changes only that user's password", async () => {
    await activeUser(h, 'alice.a');
    await activeUser(h, 'bob.b');
    await requestReset(h, 'alice.a@example.com');
    const alices = await resetMail(h, 'alice.a@example.com');
    expect((await complete(h, alices.token, 'alice has a new one')).status).toBe(200);
    expect((await login(h, 'alice.a', 'alice has a new one')).status).toBe(200);
    expect((await login(h, 'bob.b', 'alice has a new one')).status).toBe(401);
    expect((await login(h, 'bob.b', 'the first good passphrase')).status).toBe(200);
  });

  it('a revoked invitee gets no reset mail (and the same neutral answer)', async () => {
    const { invitationId } = await invited(h, 'revoked.rex');
    expect((await h.api('DELETE', `/api/v1/invitations/${invitationId}`)).status).toBe(204);
    const before = await h.countResetWorkflows();
    const res = await requestReset(h, 'revoked.rex@example.com');
    expect(res.status).toBe(202);
    await h.resetWorkflowsSettled(before + 1);
    expect(h.mail.messages().some((m) => m.to.includes('revoked.rex@example.com') && m.text.includes('/password/reset'))).toBe(false);
  });
});
