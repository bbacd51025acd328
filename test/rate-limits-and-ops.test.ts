import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_KEY, linkFrom, startHarness, type Harness } from './support/harness.js';

let h: Harness;
async function activeUser(username: string, email: string) {
  const res = await h.api('POST', '/api/v1/invitations', { username, email, userType: 'member' });
  expect(res.status).toBe(201);
  const { token } = linkFrom((await h.mail.waitFor((m) => m.to.includes(email))).text);
  const accepted = await h.api('POST', '/api/v1/public/invitations/accept', { token, password: 'the quick brown fox jumps' }, { authorization: '', 'x-forwarded-for': '198.51.100.200' });
  expect(accepted.status).toBe(200);
}

beforeAll(async () => {
  h = await startHarness({
    config: { TRUST_PROXY: 'true', RATE_LIMIT_PER_MINUTE: '20', LOGIN_FAILURES_PER_15_MIN: '3', LOGIN_FAILURES_PER_ACCOUNT_PER_HOUR: '6', RESET_MAILS_PER_HOUR: '2' },
  });
  await activeUser('real.rosa', 'rosa@example.com');
  await activeUser('spread.sam', 'sam@example.com');
});
afterAll(async () => h?.close());

const from = (ip: string) => ({ authorization: '', 'x-forwarded-for': ip });
const loginFrom = (ip: string, password: string) => h.api('POST', '/api/v1/public/login', { login: 'real.rosa', password }, from(ip));

describe('rate limits on public endpoints (security.md 15)', () => {
  it('a flood of wrong passwords from one client is stopped there, and does not lock the real user out', async () => {
    for (let i = 0; i < 3; i++) expect((await loginFrom('203.0.113.66', `guess number ${i} wrong`)).status).toBe(401);
    const blocked = await loginFrom('203.0.113.66', 'the quick brown fox jumps');
    expect(blocked.status).toBe(429);
    expect(blocked.headers.get('content-type')).toContain('application/problem+json');
    expect(Number(blocked.headers.get('retry-after'))).toBeGreaterThan(0);
    // The real user, elsewhere, gets in; successful logins never count against her.
    for (let i = 0; i < 5; i++) expect((await loginFrom('198.51.100.1', 'the quick brown fox jumps')).status).toBe(200);
  });

  it('guessing spread over many addresses: past the account limit, every failing client is stopped, a clean one still gets in', async () => {
    const sam = (ip: string, password: string) => h.api('POST', '/api/v1/public/login', { login: 'spread.sam', password }, from(ip));
    for (let i = 0; i < 6; i++) expect((await sam(`203.0.113.${i + 1}`, `guess ${i} is wrong`)).status).toBe(401);
    // The account has seen 6 failures: clients that failed on it are now stopped...
    const again = await sam('203.0.113.1', 'guess 7 is wrong');
    expect(again.status).toBe(429);
    expect(Number(again.headers.get('retry-after'))).toBeGreaterThan(0);
    // ...a new address still gets its one try (so a guesser gets one per address and hour)...
    expect((await sam('203.0.113.50', 'guess 8 is wrong')).status).toBe(401);
    expect((await sam('203.0.113.50', 'guess 9 is wrong')).status).toBe(429);
    // ...and the real user, from a clean address, is never locked out.
    expect((await sam('198.51.100.7', 'the quick brown fox jumps')).status).toBe(200);
  });

  it('too many requests from one client address answer 429 with Retry-After', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 25; i++) {
      statuses.push((await h.api('POST', '/api/v1/public/invitations/inspect', { token: 'x'.repeat(43) }, from('192.0.2.99'))).status);
    }
    expect(statuses.slice(0, 20).every((s) => s === 410)).toBe(true);
    expect(statuses.slice(20).every((s) => s === 429)).toBe(true);
    // Another client is unaffected.
    expect((await h.api('POST', '/api/v1/public/invitations/inspect', { token: 'x'.repeat(43) }, from('192.0.2.100'))).status).toBe(410);
  });

  it('reset mails per address are capped silently: same 202, no more mails', async () => {
    const bodies: string[] = [];
    for (let i = 0; i < 4; i++) {
      const res = await h.api('POST', '/api/v1/public/password-resets', { email: 'rosa@example.com' }, from(`192.0.2.${10 + i}`));
      expect(res.status).toBe(202);
      bodies.push(JSON.stringify(res.body));
    }
    expect(new Set(bodies).size).toBe(1);
    await h.resetWorkflowsSettled(2);
    // Two reset mails are logged. Each newer link replaces the older one, and a mail whose link
    // was replaced before it went out is not sent (no mail with a dead link).
    const logged = await h.db.selectFrom('emails').select(['status', 'error']).where('type', '=', 'password_reset').where('to_address', '=', 'rosa@example.com').execute();
    expect(logged).toHaveLength(2);
    const caught = h.mail.messages().filter((m) => m.to.includes('rosa@example.com') && m.text.includes('/password/reset'));
    expect(caught).toHaveLength(logged.filter((r) => r.status === 'sent').length);
    expect(caught.length).toBeGreaterThanOrEqual(1);
    for (const r of logged.filter((row) => row.status !== 'sent')) expect(r).toEqual({ status: 'failed', error: 'not sent: the link is dead (superseded)' });
  });
});

describe('operations endpoints', () => {
  it('health, readiness, metrics (on their own port, not the public one), OpenAPI and docs', async () => {
    expect((await h.api('GET', '/healthz')).body).toEqual({ status: 'ok' });
    expect((await h.api('GET', '/readyz')).body).toEqual({ status: 'ready', database: 'ok', temporal: 'ok' });
    const metrics = await h.metrics();
    expect(metrics).toContain('http_request_duration_seconds_bucket');
    expect(metrics).toMatch(/http_problems_total\{type="TooManyRequests",status="429"\} \d+/);
    // Counts of logins, keys and resends are for the operators' scraper (METRICS_PORT, issue 15.5).
    for (const key of [ADMIN_KEY, '']) expect((await h.api('GET', '/metrics', undefined, { authorization: key && `Bearer ${key}` })).status).toBe(404);
    const spec = await h.api('GET', '/api/v1/openapi.json', undefined, { authorization: '' });
    expect(spec.status).toBe(200);
    const paths = Object.keys(spec.body.paths);
    for (const path of [
      '/api/v1/invitations',
      '/api/v1/invitations/{id}',
      '/api/v1/users',
      '/api/v1/users/{id}',
      '/api/v1/users/{id}/reactivate',
      '/api/v1/public/invitations/accept',
      '/api/v1/public/login',
      '/api/v1/public/password-resets',
      '/api/v1/public/password-resets/complete',
    ]) {
      expect(paths, path).toContain(path);
    }
    const docs = await h.api('GET', '/docs', undefined, { authorization: '' });
    expect(docs.status).toBe(200);
    expect((await h.api('GET', '/docs/assets/swagger-ui-bundle.js', undefined, { authorization: '' })).status).toBe(200);
  });
});
