import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clientBucket } from '../src/api/rate-limits.js';
import { linkFrom, startHarness, type Harness } from './support/harness.js';

/**
 * Issue 15.4: with TRUST_PROXY=false, 100 wrong passwords from ten other loopback addresses
 * made the victim's correct password, from its own address, a 429 for 15 minutes. A flood
 * slows the attacker; it never locks the real user out. Over a real socket, from real
 * 127.0.0.x source addresses.
 */
let h: Harness;
let base: URL;
const PASSWORD = 'the quick brown fox jumps';

beforeAll(async () => {
  h = await startHarness({ config: { TRUST_PROXY: 'false', RATE_LIMIT_PER_MINUTE: '1000', LOGIN_FAILURES_PER_15_MIN: '10', LOGIN_FAILURES_PER_ACCOUNT_PER_HOUR: '100' } });
  base = new URL(await h.listen());
  const res = await h.api('POST', '/api/v1/invitations', { username: 'victor', email: 'victor@example.com', userType: 'member' });
  expect(res.status).toBe(201);
  const { token } = linkFrom((await h.mail.waitFor((m) => m.to.includes('victor@example.com'))).text);
  expect((await h.api('POST', '/api/v1/public/invitations/accept', { token, password: PASSWORD }, { authorization: '' })).status).toBe(200);
});
afterAll(async () => h?.close());

/** POST /login over TCP from a chosen loopback source address. */
function login(from: string, password: string): Promise<number> {
  const body = JSON.stringify({ login: 'victor', password });
  return new Promise((resolve, reject) => {
    const req = request(
      { host: base.hostname, port: base.port, path: '/api/v1/public/login', method: 'POST', localAddress: from, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode!));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

describe('a flood of wrong passwords from elsewhere', () => {
  it('keeps stopping the attackers, and lets the real user in from its own address', async () => {
    // The real user logged in from 127.0.0.1 before.
    expect(await login('127.0.0.1', PASSWORD)).toBe(200);
    // Also a typo of their own, just now.
    expect(await login('127.0.0.1', 'a typo of mine')).toBe(401);
    const statuses: number[] = [];
    for (let i = 0; i < 100; i++) statuses.push(await login(`127.0.0.${10 + (i % 10)}`, `guess ${i}`));
    // With the user's typo, the 100th failure of the hour stops the last attacker early.
    expect(statuses.slice(0, 99)).toEqual(Array(99).fill(401));
    expect(statuses[99]).toBe(429);
    // The attackers are stopped: each of their addresses has used its budget.
    expect(await login('127.0.0.10', 'one more guess')).toBe(429);
    expect(await login('127.0.0.11', PASSWORD)).toBe(429);
    // The real user is not.
    expect(await login('127.0.0.1', PASSWORD)).toBe(200);
  });
});

describe('client addresses are bucketed canonically', () => {
  it('maps IPv4-mapped IPv6 to IPv4 and groups IPv6 by /64, whatever the spelling', () => {
    expect(clientBucket('::ffff:127.0.0.5')).toBe('127.0.0.5');
    expect(clientBucket('::FFFF:7f00:5')).toBe('127.0.0.5');
    expect(clientBucket('127.0.0.5')).toBe('127.0.0.5');
    const prefix = clientBucket('2001:DB8:1::5');
    expect(prefix).toBe('2001:db8:1:0::/64');
    expect(clientBucket('2001:0db8:0001:0000:0000:0000:0000:0005')).toBe(prefix);
    expect(clientBucket('2001:db8:1::6')).toBe(prefix);
    expect(clientBucket('2001:db8:1:0:ffff:ffff:ffff:ffff')).toBe(prefix);
    expect(clientBucket('2001:db8:1:1::5')).not.toBe(prefix);
    expect(clientBucket('fe80::1%eth0')).toBe('fe80:0:0:0::/64');
    expect(clientBucket('unknown')).toBe('unknown');
  });
});
