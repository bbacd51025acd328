import { request as httpRequest } from 'node:http';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { ADMIN_KEY, linkFrom, startHarness, type Harness } from './support/harness.js';

// The checklist items of docs (security.md 3, 6, 12, 13) that had no test of their own.

// Every constant-time comparison in the service goes through node:crypto's timingSafeEqual;
// wrapping it lets a test see that a check used it, without measuring time.
const timingSafeEqual = vi.hoisted(() => ({ calls: [] as Array<[number, number]> }));
vi.mock('node:crypto', async (importOriginal) => {
  const actual = await importOriginal<typeof import('node:crypto')>();
  const wrapped = (a: NodeJS.ArrayBufferView, b: NodeJS.ArrayBufferView) => {
    timingSafeEqual.calls.push([a.byteLength, b.byteLength]);
    return actual.timingSafeEqual(a, b);
  };
  return { ...actual, default: { ...actual, timingSafeEqual: wrapped }, timingSafeEqual: wrapped };
});

let h: Harness;
let base: string;
beforeAll(async () => {
  h = await startHarness();
  base = await h.listen();
});
afterAll(async () => h?.close());
beforeEach(() => {
  timingSafeEqual.calls.length = 0;
});

const PASSWORD = 'the quick brown fox jumps';
const HOSTILE = { host: 'attacker.example', 'x-forwarded-host': 'evil.example', 'x-forwarded-proto': 'https', forwarded: 'host=evil.example;proto=https' };
const invite = (username: string, email: string, extra: Record<string, unknown> = {}) =>
  h.api('POST', '/api/v1/invitations', { username, email, userType: 'member', ...extra });

/** A real HTTP request to the loopback server, with whatever Host header we like. */
function rawPost(path: string, body: unknown, headers: Record<string, string>): Promise<number> {
  const url = new URL(path, base);
  const data = JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      { host: url.hostname, port: url.port, path: url.pathname, method: 'POST', headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data), ...headers } },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('error', reject);
    req.end(data);
  });
}

async function activeUser(username: string, email: string): Promise<string> {
  const res = await invite(username, email);
  expect(res.status).toBe(201);
  const { token } = linkFrom((await h.mail.waitFor((m) => m.to.includes(email))).text);
  expect((await h.api('POST', '/api/v1/public/invitations/accept', { token, password: PASSWORD }, { authorization: '' })).status).toBe(200);
  return res.body.user.id as string;
}

describe('3: tokens and keys are compared in constant time', () => {
  it('the admin key is compared as fixed-length digests, whatever was sent', async () => {
    for (const key of ['wrong', `${ADMIN_KEY.slice(0, -1)}x`, 'k'.repeat(3000)]) {
      timingSafeEqual.calls.length = 0;
      expect((await h.api('GET', '/api/v1/users', undefined, { authorization: `Bearer ${key}` })).status).toBe(401);
      expect(timingSafeEqual.calls.length).toBeGreaterThan(0);
      for (const [a, b] of timingSafeEqual.calls) expect([a, b]).toEqual([32, 32]);
    }
    timingSafeEqual.calls.length = 0;
    expect((await h.api('GET', '/api/v1/users')).status).toBe(200);
    expect(timingSafeEqual.calls).toContainEqual([32, 32]);
  });

  it('a named API key found by its hash is compared again in constant time before it is honoured', async () => {
    const created = await h.api('POST', '/api/v1/api-keys', { name: 'constant time', scopes: ['users:read'] });
    timingSafeEqual.calls.length = 0;
    expect((await h.api('GET', '/api/v1/users', undefined, { authorization: `Bearer ${created.body.key}` })).status).toBe(200);
    expect(timingSafeEqual.calls).toContainEqual([64, 64]); // two hex SHA-256 hashes
  });

  it('a link token found by its hash is compared again in constant time before it is honoured', async () => {
    await invite('ct.tina', 'tina@example.com');
    const { token } = linkFrom((await h.mail.waitFor((m) => m.to.includes('tina@example.com'))).text);
    timingSafeEqual.calls.length = 0;
    expect((await h.api('POST', '/api/v1/public/invitations/inspect', { token }, { authorization: '' })).status).toBe(200);
    expect(timingSafeEqual.calls).toContainEqual([43, 43]); // two base64url SHA-256 hashes

    await h.api('POST', '/api/v1/public/invitations/accept', { token, password: PASSWORD }, { authorization: '' });
    await h.api('POST', '/api/v1/public/password-resets', { email: 'tina@example.com' }, { authorization: '' });
    const reset = linkFrom((await h.mail.waitFor((m) => m.to.includes('tina@example.com') && m.text.includes('/password/reset'))).text, '/password/reset');
    timingSafeEqual.calls.length = 0;
    expect((await h.api('POST', '/api/v1/public/password-resets/inspect', { token: reset.token }, { authorization: '' })).status).toBe(200);
    expect(timingSafeEqual.calls).toContainEqual([43, 43]);
  });
});

describe('6: the request\'s Host never reaches a link', () => {
  const linksIn = (mail: { text: string; html: string }) => [...`${mail.text}\n${mail.html}`.matchAll(/https?:\/\/[^\s"'<>)]+#token=/g)].map((m) => m[0]);

  it('an invitation sent with a hostile Host and X-Forwarded-Host links to PUBLIC_BASE_URL only', async () => {
    const status = await rawPost('/api/v1/invitations', { username: 'host.hanna', email: 'hanna@example.com', userType: 'member' }, { ...HOSTILE, authorization: `Bearer ${ADMIN_KEY}` });
    expect(status).toBe(201);
    const mail = await h.mail.waitFor((m) => m.to.includes('hanna@example.com'));
    expect(`${mail.text}${mail.html}`).not.toMatch(/attacker\.example|evil\.example/);
    const links = linksIn(mail);
    expect(links.length).toBeGreaterThan(0);
    for (const link of links) expect(link.startsWith(`${h.config.PUBLIC_BASE_URL}/invitations/accept`), link).toBe(true);
  });

  it('a reset requested with a hostile Host links to PUBLIC_BASE_URL only', async () => {
    await activeUser('host.hugo', 'hugo@example.com');
    expect(await rawPost('/api/v1/public/password-resets', { email: 'hugo@example.com' }, HOSTILE)).toBe(202);
    const mail = await h.mail.waitFor((m) => m.to.includes('hugo@example.com') && m.text.includes('/password/reset'));
    expect(`${mail.text}${mail.html}`).not.toMatch(/attacker\.example|evil\.example/);
    const links = linksIn(mail);
    expect(links.length).toBeGreaterThan(0);
    for (const link of links) expect(link.startsWith(`${h.config.PUBLIC_BASE_URL}/password/reset`), link).toBe(true);
  });
});

describe('12: passwords are stored as Argon2id with at least m=19 MiB, t=2, p=1', () => {
  it('the stored hash of an accepted invitation says so', async () => {
    const id = await activeUser('hash.hilde', 'hilde@example.com');
    const { password_hash } = await h.db.selectFrom('users').select('password_hash').where('id', '=', id).executeTakeFirstOrThrow();
    const phc = /^\$argon2id\$v=19\$m=(\d+),t=(\d+),p=(\d+)\$[A-Za-z0-9+/]+\$[A-Za-z0-9+/]+$/.exec(password_hash ?? '');
    expect(phc, password_hash ?? 'no hash').not.toBeNull();
    const [m, t, p] = phc!.slice(1).map(Number);
    expect(m).toBeGreaterThanOrEqual(19 * 1024); // KiB
    expect(t).toBeGreaterThanOrEqual(2);
    expect(p).toBe(1);
  });
});

describe('13: staff never set a password', () => {
  it('no admin operation of the OpenAPI document takes a password-like field', async () => {
    const doc = (await h.api('GET', '/api/v1/openapi.json')).body;
    const resolve = (schema: any): any => (schema?.$ref ? doc.components.schemas[schema.$ref.split('/').pop()] : schema);
    const fieldNames = (schema: any, seen = new Set<any>()): string[] => {
      const s = resolve(schema);
      if (!s || typeof s !== 'object' || seen.has(s)) return [];
      seen.add(s);
      const own = Object.keys(s.properties ?? {});
      const nested = [...Object.values(s.properties ?? {}), s.items, ...(s.allOf ?? []), ...(s.anyOf ?? []), ...(s.oneOf ?? []), s.additionalProperties];
      return [...own, ...nested.flatMap((n) => fieldNames(n, seen))];
    };
    const adminBodies: Record<string, string[]> = {};
    for (const [path, operations] of Object.entries<any>(doc.paths)) {
      if (path.startsWith('/api/v1/public/')) continue;
      for (const [method, operation] of Object.entries<any>(operations)) {
        const schema = operation?.requestBody?.content?.['application/json']?.schema;
        if (schema) adminBodies[`${method.toUpperCase()} ${path}`] = fieldNames(schema);
      }
    }
    // Not vacuous: the operations that create and edit users are there, with their fields.
    expect(adminBodies['POST /api/v1/invitations']).toContain('username');
    expect(adminBodies['PATCH /api/v1/users/{id}']).toContain('email');
    // A webhook endpoint's signing secret is the platform's own key for verifying us, not a
    // user's credential: it is the one secret an admin body may carry.
    const signingSecret = ['POST /api/v1/webhooks', 'PATCH /api/v1/webhooks/{id}'];
    for (const [operation, fields] of Object.entries(adminBodies)) {
      // expirePreviousSecret is a switch (a boolean) that ends a rotation's overlap, not a secret.
      const allowed = signingSecret.includes(operation) ? ['secret', 'rotateSecret', 'expirePreviousSecret'] : [];
      expect(fields.filter((f) => /pass|secret|hash|credential/i.test(f) && !allowed.includes(f)), operation).toEqual([]);
    }
  });

  it('a password sent by staff on invite or edit is refused, and nothing is set', async () => {
    const withPassword = await invite('pw.paula', 'paula@example.com', { password: PASSWORD });
    expect(withPassword.status).toBe(422);
    expect(await h.db.selectFrom('users').select('id').where('email_key', '=', 'paula@example.com').execute()).toEqual([]);

    const invited = await invite('pw.pia', 'pia@example.com');
    const id = await activeUser('pw.peter', 'peter@example.com');
    const hashBefore = (await h.db.selectFrom('users').select('password_hash').where('id', '=', id).executeTakeFirstOrThrow()).password_hash;
    for (const [userId, body] of [
      [invited.body.user.id, { password: PASSWORD }],
      [invited.body.user.id, { username: 'pw.pia2', password: PASSWORD }],
      [id, { password: 'a brand new password' }],
      [id, { passwordHash: '$argon2id$v=19$m=19456,t=2,p=1$AAAA$AAAA' }],
    ] as const) {
      const res = await h.api('PATCH', `/api/v1/users/${userId}`, body);
      expect(res.status, JSON.stringify(body)).toBe(422);
    }
    const after = await h.db.selectFrom('users').select(['id', 'username', 'status', 'password_hash']).where('id', 'in', [id, invited.body.user.id]).execute();
    expect(after.find((u) => u.id === id)?.password_hash).toBe(hashBefore);
    expect(after.find((u) => u.id === invited.body.user.id)).toMatchObject({ username: 'pw.pia', status: 'invited', password_hash: null });
    // The only ways to a password are the user's own links.
    expect((await h.api('POST', '/api/v1/public/login', { login: 'pw.peter', password: 'a brand new password' }, { authorization: '' })).status).toBe(401);
  });
});
