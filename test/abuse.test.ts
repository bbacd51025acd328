import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { linkFrom, startHarness, type Harness } from './support/harness.js';

// Attacks found when the service was tried as an attacker would (issue 6, defects 2–4 and
// the reset endpoint's headers). The limits are set low so a handful of requests reach them.
let h: Harness;
const PASSWORD = 'the quick brown fox jumps';

async function activeUser(username: string, email: string) {
  const res = await h.api('POST', '/api/v1/invitations', { username, email, userType: 'member' });
  expect(res.status).toBe(201);
  const { token } = linkFrom((await h.mail.waitFor((m) => m.to.includes(email))).text);
  const accepted = await h.api('POST', '/api/v1/public/invitations/accept', { token, password: PASSWORD }, { authorization: '', 'x-forwarded-for': '198.51.100.200' });
  expect(accepted.status).toBe(200);
}

beforeAll(async () => {
  h = await startHarness({
    config: { TRUST_PROXY: '1', RATE_LIMIT_PER_MINUTE: '1000', LOGIN_FAILURES_PER_15_MIN: '10', LOGIN_FAILURES_PER_ACCOUNT_PER_HOUR: '100', RESET_MAILS_PER_HOUR: '2' },
  });
  await activeUser('carol', 'carol@example.com');
  await activeUser('dave', 'dave@example.com');
});
afterAll(async () => h?.close());

/** Header values only: these addresses are never contacted. */
const via = (forwardedFor: string) => ({ authorization: '', 'x-forwarded-for': forwardedFor });
const login = (loginName: string, password: string, forwardedFor: string) =>
  h.api('POST', '/api/v1/public/login', { login: loginName, password }, via(forwardedFor));
const resetRequest = (body: unknown, forwardedFor: string) => h.api('POST', '/api/v1/public/password-resets', body, via(forwardedFor));

describe('the reset endpoint validates before it limits', () => {
  it('answers bad bodies 400 or 422 every time, however many came before, from anyone', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 8; i++) {
      const from = `192.0.2.${i + 1}`;
      statuses.push((await resetRequest('{', from)).status);
      statuses.push((await resetRequest({ foo: 1 }, from)).status);
      statuses.push((await resetRequest({ email: 'not-an-email' }, from)).status);
      statuses.push((await resetRequest({ email: 'fine@example.com', isStaff: true }, from)).status);
    }
    expect(statuses.filter((s, i) => s !== (i % 4 === 0 ? 400 : 422))).toEqual([]);
  });

  it('a full per-address bucket still validates first: a bad body for that address is a 422, not a 202', async () => {
    for (let i = 0; i < 3; i++) expect((await resetRequest({ email: 'full@example.com' }, `192.0.2.${30 + i}`)).status).toBe(202);
    expect((await resetRequest({ email: 'full@example.com', extra: 1 }, '192.0.2.40')).status).toBe(422);
  });

  it('says nothing about how many resets were asked for an address', async () => {
    for (let i = 0; i < 4; i++) await resetRequest({ email: 'watched@example.com' }, `192.0.2.${50 + i}`);
    const watched = await resetRequest({ email: 'watched@example.com' }, '192.0.2.60');
    const fresh = await resetRequest({ email: 'nobody.asked@example.com' }, '192.0.2.61');
    expect(watched.status).toBe(202);
    expect(watched.body).toEqual(fresh.body);
    // Headers from the per-client limit are fine (they count the caller's own requests);
    // whatever is sent must be the same for a much-asked address as for a fresh one.
    const rateHeaders = (res: { headers: Headers }) =>
      Object.fromEntries([...res.headers].filter(([name]) => /ratelimit|retry-after/i.test(name)).map(([k, v]) => [k, k.includes('reset') ? 'window' : v]));
    expect(rateHeaders(watched)).toEqual(rateHeaders(fresh));
  });
});

describe('behind a trusted proxy the client address is the one the proxy saw', () => {
  it('a client writing its own X-Forwarded-For entries cannot escape the login limit', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 12; i++) statuses.push((await login('dave', `wrong guess ${i}`, `172.16.0.${i}, 203.0.113.7`)).status);
    expect(statuses.slice(0, 10)).toEqual(Array(10).fill(401));
    expect(statuses.slice(10)).toEqual([429, 429]);
    // The real user behind another address is not affected.
    expect((await login('dave', PASSWORD, '198.51.100.20')).status).toBe(200);
  });
});

describe('failed logins count per account, whatever the spelling', () => {
  it('after "carol" is blocked, "carol@example.com" and "CAROL" from the same client are blocked too', async () => {
    for (let i = 0; i < 10; i++) expect((await login('carol', `wrong guess ${i}`, '203.0.113.77')).status).toBe(401);
    expect((await login('carol', 'wrong again', '203.0.113.77')).status).toBe(429);
    expect((await login('carol@example.com', 'wrong again', '203.0.113.77')).status).toBe(429);
    expect((await login(' CAROL@Example.COM ', 'wrong again', '203.0.113.77')).status).toBe(429);
    expect((await login('CAROL', 'wrong again', '203.0.113.77')).status).toBe(429);
    // No lock-out: the real user from a clean address still gets in, by either spelling.
    expect((await login('carol@example.com', PASSWORD, '198.51.100.30')).status).toBe(200);
  });

  it('wrong logins sent all at once are counted as they arrive: no more get through than one at a time', async () => {
    const statuses = await Promise.all(Array.from({ length: 30 }, (_, i) => login('parallel.pete', `burst guess ${i}`, '203.0.113.99')));
    expect(statuses.filter((r) => r.status === 401)).toHaveLength(10);
    expect(statuses.filter((r) => r.status === 429)).toHaveLength(20);
    // A success never counts, even when it runs beside failures.
    const [good] = await Promise.all([login('dave', PASSWORD, '198.51.100.99'), login('dave', 'one wrong', '198.51.100.99')]);
    expect(good.status).toBe(200);
  });

  it('unknown names count per canonical login: spelling variants of one unknown name share a count', async () => {
    for (let i = 0; i < 10; i++) expect((await login(i % 2 ? 'Ghost' : 'ghost', `guess ${i}`, '203.0.113.88')).status).toBe(401);
    expect((await login('GHOST', 'guess', '203.0.113.88')).status).toBe(429);
    // Another unknown name from that client is its own count.
    expect((await login('phantom', 'guess', '203.0.113.88')).status).toBe(401);
  });
});
