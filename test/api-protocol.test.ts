import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from './support/harness.js';

/** HTTP behaviour the OpenAPI document promises: methods, authentication order, caching, validation answers. */
let h: Harness;
let userId: string;
beforeAll(async () => {
  h = await startHarness();
  const res = await h.api('POST', '/api/v1/invitations', { username: 'proto.paula', email: 'paula@example.com', userType: 'member' });
  expect(res.status).toBe(201);
  userId = res.body.user.id;
});
afterAll(async () => h?.close());

const fieldsOf = (res: { body: any }) => (res.body.errors ?? []).map((e: { field: string }) => e.field).sort();
const messageFor = (res: { body: any }, field: string) => res.body.errors?.find((e: { field: string }) => e.field === field)?.message;
const anonymous = { authorization: '' };

describe('methods', () => {
  it.each([
    ['PUT', () => `/api/v1/users/${userId}`, 'GET, HEAD, PATCH, DELETE, OPTIONS'],
    ['GET', () => '/api/v1/invitations', 'POST, OPTIONS'],
    ['POST', () => '/api/v1/users', 'GET, HEAD, OPTIONS'],
    ['GET', () => '/api/v1/public/login', 'POST, OPTIONS'],
  ])('a %s on a path that does not take it answers 405 with Allow', async (method, path, allow) => {
    const res = await h.api(method, path());
    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toBe(allow);
    expect(res.headers.get('content-type')).toContain('application/problem+json');
    expect(res.body).toMatchObject({ status: 405, type: expect.stringContaining('method-not-allowed') });
  });

  it('OPTIONS lists the methods; an unknown path is still 404', async () => {
    const options = await h.api('OPTIONS', '/api/v1/users');
    expect(options.status).toBe(204);
    expect(options.headers.get('allow')).toBe('GET, HEAD, OPTIONS');
    expect((await h.api('PUT', '/api/v1/nowhere')).status).toBe(404);
  });
});

describe('authentication comes first', () => {
  it.each([
    ['a form body', 'username=x', { 'content-type': 'application/x-www-form-urlencoded' }],
    ['malformed JSON', '{"username": ', {}],
    ['a body over the limit', JSON.stringify({ permissions: Array(20_000).fill('perm') }), {}],
    ['a wrong method', undefined, {}],
  ])('an admin request without the key and with %s gets 401', async (_what, body, headers) => {
    const method = body === undefined ? 'PUT' : 'POST';
    // A real client sends the length; the middleware decides on it before reading the body.
    const length: Record<string, string> = body === undefined ? {} : { 'content-length': String(Buffer.byteLength(body)) };
    const res = await h.api(method, '/api/v1/invitations', body, { ...anonymous, ...length, ...headers });
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toBe('Bearer');
  });
});

describe('validation answers', () => {
  it('a field of the wrong type is reported as such, a missing one as required', async () => {
    const res = await h.api('POST', '/api/v1/invitations', { username: 42, email: 'x@example.com', userType: 'member', isStaff: 'yes' });
    expect(res.status).toBe(422);
    expect(fieldsOf(res)).toEqual(['isStaff', 'username']);
    expect(messageFor(res, 'username')).toBe('must be a string, not a number');
    expect(messageFor(res, 'isStaff')).toBe('must be a boolean, not a string');
    const missing = await h.api('POST', '/api/v1/invitations', { email: 'x@example.com', userType: 'member' });
    expect(messageFor(missing, 'username')).toBe('is required');
  });

  it('an invitation with a bad username, email and user type names all three at once', async () => {
    const res = await h.api('POST', '/api/v1/invitations', { username: 'a@b', email: 'not-an-email', userType: 'superuser' });
    expect(res.status).toBe(422);
    expect(fieldsOf(res)).toEqual(['email', 'userType', 'username']);
    expect(messageFor(res, 'userType')).toBe('must be one of: member, organization_contact');
  });

  it('a PATCH with no body, or with nothing in it, is 422 and changes nothing', async () => {
    for (const body of [undefined, {}]) {
      const res = await h.api('PATCH', `/api/v1/users/${userId}`, body);
      expect(res.status, JSON.stringify(body)).toBe(422);
    }
    const bad = await h.api('PATCH', `/api/v1/users/${userId}`, { userType: 'superuser', email: 'nope' });
    expect(fieldsOf(bad)).toEqual(['email', 'userType']);
    expect((await h.api('GET', `/api/v1/users/${userId}`)).body).toMatchObject({ username: 'proto.paula', userType: 'member' });
  });
});

describe('caching', () => {
  it('answers about users, and admin answers generally, are never stored by a cache', async () => {
    const answers = [
      await h.api('GET', `/api/v1/users/${userId}`),
      await h.api('GET', '/api/v1/users?limit=1'),
      await h.api('PATCH', `/api/v1/users/${userId}`, { isStaff: false }),
      await h.api('GET', '/api/v1/users', undefined, anonymous),
      await h.api('POST', '/api/v1/public/login', { login: 'proto.paula', password: 'not the password at all' }, anonymous),
    ];
    for (const res of answers) expect([res.status, res.headers.get('cache-control')]).toEqual([res.status, 'no-store']);
    expect(answers.map((r) => r.status)).toEqual([200, 200, 200, 401, 401]);
  });
});
