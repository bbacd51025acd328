import fc from 'fast-check';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { skeletonOfUsernameKey } from '../src/users/identity.js';
import { invitationWorkflowId } from '../src/workflows/invitation.messages.js';
import { linkFrom, startHarness, type Harness } from './support/harness.js';

let h: Harness;
let erika: { id: string };
let token: string;
beforeAll(async () => {
  h = await startHarness();
  const res = await h.api('POST', '/api/v1/invitations', { username: 'erika', email: 'erika@example.com', userType: 'member' });
  expect(res.status).toBe(201);
  erika = res.body.user;
  token = linkFrom((await h.mail.waitFor((m) => m.to.includes('erika@example.com'))).text).token;
});
afterAll(async () => h?.close());

const countUsers = async () => Number((await h.db.selectFrom('users').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n);
const isProblem = (res: { headers: Headers; body: any }, status: number) => {
  expect(res.headers.get('content-type')).toContain('application/problem+json');
  expect(res.body).toMatchObject({ status, type: expect.any(String), title: expect.any(String), detail: expect.any(String) });
};
const invite = (body: unknown, headers?: Record<string, string>) => h.api('POST', '/api/v1/invitations', body, headers);
const fieldsOf = (res: { body: any }) => (res.body.errors ?? []).map((e: { field: string }) => e.field).sort();

describe('bad requests get a clear problem document and change nothing', () => {
  it('refuses requests without the admin key, or with a wrong one', async () => {
    for (const authorization of ['', 'Bearer wrong-key', 'Basic abc', `Bearer ${'x'.repeat(5000)}`]) {
      const res = await invite({ username: 'mallory', email: 'm@example.com', userType: 'member' }, { authorization });
      expect(res.status).toBe(401);
      isProblem(res, 401);
      expect(res.headers.get('www-authenticate')).toBe('Bearer');
    }
    expect((await h.api('GET', '/api/v1/users', undefined, { authorization: '' })).status).toBe(401);
  });

  it('answers malformed JSON with 400, a non-JSON body with 415, an oversized body with 413', async () => {
    const before = await countUsers();
    const malformed = await invite('{"username": "x",');
    expect(malformed.status).toBe(400);
    isProblem(malformed, 400);
    const form = await invite('username=x', { 'content-type': 'application/x-www-form-urlencoded' });
    expect(form.status).toBe(415);
    isProblem(form, 415);
    const huge = await invite({ username: 'big', email: 'big@example.com', userType: 'member', permissions: Array(20_000).fill('perm') });
    expect(huge.status).toBe(413);
    isProblem(huge, 413);
    expect(await countUsers()).toBe(before);
  });

  it('a POST that takes no body refuses one with fields (422 naming them) instead of ignoring it (issue 15.7)', async () => {
    const nobody = '01900000-0000-7000-8000-000000000000';
    for (const path of [`/api/v1/emails/${nobody}/resend`, `/api/v1/users/${nobody}/reactivate`, `/api/v1/webhooks/${nobody}/deliveries/${nobody}/redeliver`]) {
      const withField = await h.api('POST', path, { until: '2099-01-01T00:00:00Z' });
      expect(withField.status, path).toBe(422);
      isProblem(withField, 422);
      expect(withField.body.errors, path).toEqual([{ field: 'until', message: expect.any(String) }]);
      // Nothing, or an empty object, is what they take: past the body, the id is unknown.
      expect((await h.api('POST', path, {})).status, path).toBe(404);
      expect((await h.api('POST', path)).status, path).toBe(404);
    }
  });

  it('lists every invalid field at once with 422', async () => {
    const before = await countUsers();
    const empty = await invite({});
    expect(empty.status).toBe(422);
    isProblem(empty, 422);
    expect(fieldsOf(empty)).toEqual(['email', 'userType', 'username']);

    const bad = await invite({ username: 'a\u202Eb', email: 'no-at-sign', userType: 'member', permissions: ['ok', 'not ok!'], locale: 'fr', status: 'active' });
    expect(bad.status).toBe(422);
    expect(fieldsOf(bad)).toEqual(expect.arrayContaining(['username', 'email', 'permissions/1', 'locale']));

    const wrongType = await invite({ username: 'valid.name', email: 'valid@example.com', userType: 'superuser' });
    expect(wrongType.status).toBe(422);
    expect(fieldsOf(wrongType)).toEqual(['userType']);
    expect(await countUsers()).toBe(before);
  });

  it.each([
    ['header injection', 'x@example.com\r\nBcc: victim@example.com'],
    ['NUL byte', 'x\u0000@example.com'],
    ['local part over 64 octets', `${'a'.repeat(65)}@example.com`],
    ['over 254 octets', `${'a'.repeat(64)}@${'b'.repeat(62)}.${'c'.repeat(62)}.${'d'.repeat(62)}.com`], // 257, domain itself fine
    ['no domain', 'x@'],
    ['zero-width space', 'x\u200B@example.com'],
  ])('rejects an email with %s', async (_what, email) => {
    const res = await invite({ username: 'someone', email, userType: 'member' });
    expect(res.status).toBe(422);
    expect(fieldsOf(res)).toContain('email');
  });

  it.each([
    ['bidi override', 'adm\u202Ein'],
    ['zero-width joiner', 'ad\u200Dmin'],
    ['too long', 'x'.repeat(65)],
    ['an @', 'a@b'],
    ['a line break', 'a\nb'],
  ])('rejects a username with %s', async (_what, username) => {
    const res = await invite({ username, email: 'fine@example.com', userType: 'member' });
    expect(res.status).toBe(422);
    expect(fieldsOf(res)).toContain('username');
  });

  it('rejects a username or email in use, case-insensitively and after Unicode normalisation, with 409', async () => {
    const before = await countUsers();
    for (const [username, email, field] of [
      ['ERIKA', 'other1@example.com', 'username'],
      ['\uFF45\uFF52\uFF49\uFF4B\uFF41', 'other2@example.com', 'username'], // full-width "erika" (NFKC)

      ['someone.else', 'ERIKA@EXAMPLE.COM', 'email'],
      ['someone.else2', ' erika@Example.com ', 'email'],
    ]) {
      const res = await invite({ username, email, userType: 'member' });
      expect(res.status, `${username} ${email}`).toBe(409);
      isProblem(res, 409);
      expect(fieldsOf(res)).toEqual([field]);
    }
    expect(await countUsers()).toBe(before);
  });

  it('folds case fully: "Straße" and "STRASSE" are the same username', async () => {
    expect((await invite({ username: 'Straße', email: 'strasse1@example.com', userType: 'member' })).status).toBe(201);
    const clash = await invite({ username: 'STRASSE', email: 'strasse2@example.com', userType: 'member' });
    expect(clash.status).toBe(409);
    expect(fieldsOf(clash)).toEqual(['username']);
  });

  it('a public body that sets status or isStaff changes nothing', async () => {
    const res = await h.api('POST', '/api/v1/public/invitations/accept', { token, password: 'password', status: 'active', isStaff: true }, { authorization: '' });
    expect(res.status).toBe(422);
    const login = await h.api('POST', '/api/v1/public/login', { login: 'erika', password: 'whatever it is', isStaff: true }, { authorization: '' });
    expect(login.status).toBe(422);
    const user = await h.api('GET', `/api/v1/users/${erika.id}`);
    expect(user.body).toMatchObject({ status: 'invited', isStaff: false });
    // ...and the link still works afterwards: refusing the body did not consume it.
    const inspect = await h.api('POST', '/api/v1/public/invitations/inspect', { token }, { authorization: '' });
    expect(inspect.status).toBe(200);
  });

  it('refuses weak passwords with field errors and keeps the link usable', async () => {
    for (const password of ['short', 'password123', 'erika-erika-erika', 'x'.repeat(257)]) {
      const res = await h.api('POST', '/api/v1/public/invitations/accept', { token, password }, { authorization: '' });
      expect(res.status, password).toBe(422);
      expect(fieldsOf(res)).toEqual(['password']);
    }
    expect((await h.api('GET', `/api/v1/users/${erika.id}`)).body.status).toBe('invited');
  });

  it('answers unknown ids and routes with 404 and bad tokens with 410', async () => {
    expect((await h.api('GET', '/api/v1/users/not-a-uuid')).status).toBe(404);
    expect((await h.api('GET', '/api/v1/users/00000000-0000-4000-8000-000000000000')).status).toBe(404);
    expect((await h.api('DELETE', '/api/v1/invitations/00000000-0000-4000-8000-000000000000')).status).toBe(404);
    const nowhere = await h.api('GET', '/api/v1/nowhere');
    expect(nowhere.status).toBe(404);
    isProblem(nowhere, 404);
    for (const bad of ['', 'abc', token.slice(0, -1) + (token.endsWith('A') ? 'B' : 'A')]) {
      const res = await h.api('POST', '/api/v1/public/invitations/accept', { token: bad, password: 'a perfectly fine passphrase' }, { authorization: '' });
      expect(res.status).toBe(410);
    }
  });

  it('never answers 500 to whatever JSON a client sends', async () => {
    // Any Unicode, control characters and NUL included, in the fields each endpoint reads.
    const text = fc.string({ unit: 'binary', maxLength: 40 });
    const anything = fc.oneof(text, fc.integer(), fc.boolean(), fc.constant(null), fc.array(text, { maxLength: 3 }), fc.dictionary(text, text, { maxKeys: 2 }));
    const bodies: Record<string, string[]> = {
      '/api/v1/invitations': ['username', 'email', 'userType', 'isStaff', 'permissions', 'locale'],
      '/api/v1/public/login': ['login', 'password'],
      '/api/v1/public/invitations/accept': ['token', 'password'],
      '/api/v1/public/invitations/inspect': ['token'],
      '/api/v1/public/password-resets': ['email'],
      '/api/v1/public/password-resets/complete': ['token', 'password'],
    };
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...Object.keys(bodies)), fc.array(anything, { minLength: 6, maxLength: 6 }), fc.boolean(), async (path, values, wellTyped) => {
        const fields = bodies[path]!;
        // Half the runs send strings in every field, so they get past the type checks.
        const body = Object.fromEntries(fields.map((f, i) => [f, wellTyped && typeof values[i] !== 'string' ? (JSON.stringify(values[i]) ?? '') : values[i]]));
        const res = await h.api('POST', path, body);
        expect(res.status, JSON.stringify({ path, body })).toBeLessThan(500);
      }),
      { numRuns: 300 },
    );
    await fc.assert(
      fc.asyncProperty(text, async (q) => {
        const res = await h.api('GET', `/api/v1/users?q=${encodeURIComponent(q)}`);
        expect(res.status, JSON.stringify(q)).toBeLessThan(500);
      }),
      { numRuns: 100 },
    );
  });

  it.each([
    ['a NUL byte in a login', 'POST', '/api/v1/public/login', { login: 'a\u0000b', password: 'whatever it is' }, 422],
    ['a NUL byte in a search', 'GET', '/api/v1/users?q=%00', undefined, 422],
    ['an invitation id that is no uuid', 'DELETE', '/api/v1/invitations/not-a-uuid', undefined, 404],
    ['a user id that is no uuid', 'PATCH', '/api/v1/users/not-a-uuid', { isStaff: true }, 404],
    ['a reactivation of an id that is no uuid', 'POST', '/api/v1/users/not-a-uuid/reactivate', undefined, 404],
    ['an asset named like an Object method', 'GET', '/assets/constructor', undefined, 404],
    ['a docs asset named __proto__', 'GET', '/docs/assets/__proto__', undefined, 404],
  ])('answers %s with a problem, not a 500', async (_what, method, path, body, status) => {
    const res = await h.api(method, path, body);
    expect(res.status).toBe(status);
    isProblem(res, status);
  });
});

describe('revoking and racing', () => {
  it('a revoked invitation stops the link, makes the user inactive and ends the workflow', async () => {
    const res = await invite({ username: 'revoked.rita', email: 'rita@example.com', userType: 'member' });
    const link = linkFrom((await h.mail.waitFor((m) => m.to.includes('rita@example.com'))).text);
    expect((await h.api('DELETE', `/api/v1/invitations/${res.body.invitation.id}`)).status).toBe(204);
    expect((await h.api('DELETE', `/api/v1/invitations/${res.body.invitation.id}`)).status).toBe(204);
    const accept = await h.api('POST', '/api/v1/public/invitations/accept', { token: link.token, password: 'a perfectly fine passphrase' }, { authorization: '' });
    expect(accept.status).toBe(410);
    const user = await h.api('GET', `/api/v1/users/${res.body.user.id}`);
    expect(user.body).toMatchObject({ status: 'inactive', deactivationReason: 'invitation_revoked', invitation: { status: 'revoked' } });
    const final = await h.client.workflow.getHandle(invitationWorkflowId(res.body.user.id)).result();
    expect(final.outcome).toBe('revoked');
  });

  it('five simultaneous accepts of one link: exactly one wins', async () => {
    const res = await invite({ username: 'racing.rob', email: 'rob@example.com', userType: 'member' });
    const link = linkFrom((await h.mail.waitFor((m) => m.to.includes('rob@example.com'))).text);
    const results = await Promise.all(
      Array.from({ length: 5 }, (_, i) =>
        h.api('POST', '/api/v1/public/invitations/accept', { token: link.token, password: `racing passphrase number ${i}` }, { authorization: '' }),
      ),
    );
    expect(results.map((r) => r.status).sort()).toEqual([200, 410, 410, 410, 410]);
    const winner = results.findIndex((r) => r.status === 200);
    const login = await h.api('POST', '/api/v1/public/login', { login: 'racing.rob', password: `racing passphrase number ${winner}` }, { authorization: '' });
    expect(login.status).toBe(200);
    // Revoking an accepted invitation is a conflict.
    expect((await h.api('DELETE', `/api/v1/invitations/${res.body.invitation.id}`)).status).toBe(409);
  });
});

describe('the user overview', () => {
  it('does not skip users created within the same millisecond (cursor keeps microseconds)', async () => {
    // Rows written directly: the point is created_at values a JS Date cannot tell apart.
    const ids = ['00000000-0000-4000-8000-00000000000a', '00000000-0000-4000-8000-00000000000b', '00000000-0000-4000-8000-00000000000c'];
    await h.db
      .insertInto('users')
      .values(
        ids.map((id, i) => ({
          id,
          username: `micro.${i}`,
          username_key: `micro.${i}`,
          username_skeleton: skeletonOfUsernameKey(`micro.${i}`),
          email: `micro.${i}@micro.example`,
          email_key: `micro.${i}@micro.example`,
          user_type: 'member',
          is_staff: false,
          locale: 'en' as const,
          status: 'invited' as const,
          created_at: sql<Date>`${`2020-01-01T00:00:00.000${3 - i}00Z`}::text::timestamptz` as unknown as Date,
          updated_at: '2020-01-01T00:00:00Z',
        })),
      )
      .execute();
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const res: { body: any } = await h.api('GET', `/api/v1/users?q=micro.example&limit=1${cursor ? `&cursor=${cursor}` : ''}`);
      seen.push(...res.body.items.map((u: { username: string }) => u.username));
      cursor = res.body.nextCursor;
    } while (cursor);
    expect(seen).toEqual(['micro.0', 'micro.1', 'micro.2']);
  });

  it('pages newest first without skipping or repeating, and filters by status and q', async () => {
    const names = ['page.a', 'page.b', 'page.c', 'page.d', 'page.e'];
    for (const username of names) {
      expect((await invite({ username, email: `${username}@paging.example`, userType: 'organization_contact' })).status).toBe(201);
    }
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const res: { status: number; body: any } = await h.api('GET', `/api/v1/users?q=paging.example&limit=2${cursor ? `&cursor=${cursor}` : ''}`);
      expect(res.status).toBe(200);
      expect(res.body.items.length).toBeLessThanOrEqual(2);
      seen.push(...res.body.items.map((u: { username: string }) => u.username));
      cursor = res.body.nextCursor;
    } while (cursor);
    expect(seen).toEqual([...names].reverse());
    const q = await h.api('GET', '/api/v1/users?q=PAGE.C');
    expect(q.body.items.map((u: { username: string }) => u.username)).toEqual(['page.c']);
    const active = await h.api('GET', '/api/v1/users?status=active&q=paging');
    expect(active.body.items).toEqual([]);
    for (const bad of ['limit=0', 'limit=101', 'status=deleted', 'cursor=garbage', 'unknown=1']) {
      const res = await h.api('GET', `/api/v1/users?${bad}`);
      expect(res.status, bad).toBe(422);
      isProblem(res, 422);
    }
  });
});
