import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { scopes } from '../src/api-keys/scopes.js';
import { startHarness, type Harness } from './support/harness.js';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => h?.close());

const createKey = async (name: string, keyScopes: string[]) => {
  const res = await h.api('POST', '/api/v1/api-keys', { name, scopes: keyScopes }, { 'x-actor': 'staff:root' });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body as { id: string; key: string; prefix: string; name: string; scopes: string[] };
};
const as = (key: string, headers: Record<string, string> = {}) => ({ authorization: `Bearer ${key}`, ...headers });
const invitation = (username: string) => ({ username, email: `${username}@example.com`, userType: 'member', locale: 'en' });

describe('named API keys', () => {
  it('are shown once on creation, recognisable, and stored only as a hash; the list never shows them', async () => {
    const created = await createKey('CRM sync', ['users:read', 'users:read', 'audit:read']);
    expect(created.key).toMatch(/^isk_[A-Za-z0-9_-]{43}$/);
    expect(created.prefix).toBe(created.key.slice(0, 12));
    expect(created.scopes).toEqual(['users:read', 'audit:read']);

    const list = await h.api('GET', '/api/v1/api-keys');
    expect(list.status).toBe(200);
    const listed = list.body.items.find((k: { id: string }) => k.id === created.id);
    expect(listed).toMatchObject({ name: 'CRM sync', scopes: ['users:read', 'audit:read'], prefix: created.prefix, createdBy: 'staff:root', lastUsedAt: null, revokedAt: null });
    expect(JSON.stringify(list.body)).not.toContain(created.key);
    expect(listed).not.toHaveProperty('key');

    const row = await h.db.selectFrom('api_keys').selectAll().where('id', '=', created.id).executeTakeFirstOrThrow();
    expect(JSON.stringify(row)).not.toContain(created.key.slice(12));
  });

  it('refuses an unknown scope, an empty name and no scopes with 422, and creates nothing', async () => {
    const before = await h.db.selectFrom('api_keys').select('id').execute();
    const unknown = await h.api('POST', '/api/v1/api-keys', { name: 'x', scopes: ['users:read', 'keys:write'] });
    expect(unknown.status).toBe(422);
    expect(unknown.body.errors).toEqual([expect.objectContaining({ field: 'scopes/1' })]);
    expect((await h.api('POST', '/api/v1/api-keys', { name: '  ', scopes: ['users:read'] })).status).toBe(422);
    expect((await h.api('POST', '/api/v1/api-keys', { name: 'x', scopes: [] })).status).toBe(422);
    expect(await h.db.selectFrom('api_keys').select('id').execute()).toHaveLength(before.length);
  });

  it('allow what their scopes allow, and a missing scope is a 403 naming it, before the body is read', async () => {
    const reader = await createKey('reader', ['users:read']);
    expect((await h.api('GET', '/api/v1/users', undefined, as(reader.key))).status).toBe(200);
    const lastUsed = async () => (await h.api('GET', '/api/v1/api-keys')).body.items.find((k: { id: string }) => k.id === reader.id).lastUsedAt;
    const firstUse = await lastUsed();
    expect(Date.now() - Date.parse(firstUse)).toBeLessThan(60_000);
    expect((await h.api('GET', '/api/v1/emails', undefined, as(reader.key))).status).toBe(200);
    expect(await lastUsed()).toBe(firstUse); // written at most once a minute, not on every request

    const denied = await h.api('POST', '/api/v1/invitations', invitation('not.allowed'), as(reader.key));
    expect(denied.status).toBe(403);
    expect(denied.headers.get('content-type')).toContain('application/problem+json');
    expect(denied.body).toMatchObject({ status: 403, requiredScope: 'invitations:write' });
    expect(denied.body.detail).toContain('invitations:write');
    expect(await h.db.selectFrom('users').select('id').where('username', '=', 'not.allowed').execute()).toEqual([]);

    // Authorization comes before content type and validation, as authentication does.
    const notJson = await h.api('POST', '/api/v1/invitations', 'username=x', as(reader.key, { 'content-type': 'text/plain' }));
    expect(notJson.status).toBe(403);
    const invalid = await h.api('PUT', '/api/v1/email-templates/user_invitation?locale=en', { subject: '' }, as(reader.key));
    expect(invalid.body).toMatchObject({ status: 403, requiredScope: 'templates:write' });
    expect((await h.api('GET', '/api/v1/audit-events', undefined, as(reader.key))).body.requiredScope).toBe('audit:read');

    const inviter = await createKey('inviter', ['invitations:write']);
    expect((await h.api('POST', '/api/v1/invitations', invitation('allowed.one'), as(inviter.key))).status).toBe(201);
    expect((await h.api('GET', '/api/v1/users', undefined, as(inviter.key))).body.requiredScope).toBe('users:read');
  });

  it('cannot manage keys, even with every scope: only ADMIN_API_KEY can', async () => {
    const all = await createKey('everything', [...scopes]);
    for (const [method, path, body] of [
      ['GET', '/api/v1/api-keys', undefined],
      ['POST', '/api/v1/api-keys', { name: 'escalate', scopes: ['users:write'] }],
      ['DELETE', `/api/v1/api-keys/${all.id}`, undefined],
    ] as const) {
      const res = await h.api(method, path, body, as(all.key));
      expect(res.status, `${method} ${path}`).toBe(403);
      expect(res.body.requiredScope).toBeNull();
    }
    expect(await h.db.selectFrom('api_keys').select('id').where('name', '=', 'escalate').execute()).toEqual([]);
    // Unknown paths stay 404 for a named key: nothing to authorise.
    expect((await h.api('GET', '/api/v1/nothing-here', undefined, as(all.key))).status).toBe(404);
  });

  it('once revoked answer 401 on the next request, stay listed with revokedAt, and revoking again changes nothing', async () => {
    const key = await createKey('short-lived', ['users:read']);
    expect((await h.api('GET', '/api/v1/users', undefined, as(key.key))).status).toBe(200);
    expect((await h.api('DELETE', `/api/v1/api-keys/${key.id}`, undefined, { 'x-actor': 'staff:root' })).status).toBe(204);
    const after = await h.api('GET', '/api/v1/users', undefined, as(key.key));
    expect(after.status).toBe(401);
    expect(after.body.detail).toMatch(/revoked/);
    expect(after.headers.get('www-authenticate')).toBe('Bearer');
    expect((await h.api('DELETE', `/api/v1/api-keys/${key.id}`)).status).toBe(204);
    const listed = (await h.api('GET', '/api/v1/api-keys')).body.items.find((k: { id: string }) => k.id === key.id);
    expect(listed.revokedAt).not.toBeNull();
    expect(listed.lastUsedAt).not.toBeNull(); // the one use before revocation
    const revocations = await h.db.selectFrom('audit_events').selectAll().where('action', '=', 'api_key.revoked').execute();
    expect(revocations.filter((e) => (e.details as { apiKeyId?: string }).apiKeyId === key.id)).toHaveLength(1);

    expect((await h.api('DELETE', '/api/v1/api-keys/00000000-0000-4000-8000-000000000000')).status).toBe(404);
    expect((await h.api('DELETE', '/api/v1/api-keys/not-a-key')).status).toBe(404);
    expect((await h.api('GET', '/api/v1/users', undefined, as('isk_not-a-real-key'))).status).toBe(401);
  });

  it('records the key beside the actor: a named key by id and name, ADMIN_API_KEY as bootstrap', async () => {
    const key = await createKey('platform backend', ['invitations:write', 'audit:read']);
    const viaKey = await h.api('POST', '/api/v1/invitations', invitation('via.key'), as(key.key, { 'x-actor': 'staff:berta' }));
    expect(viaKey.status).toBe(201);
    const viaBootstrap = await h.api('POST', '/api/v1/invitations', invitation('via.bootstrap'), { 'x-actor': 'staff:carl' });
    expect(viaBootstrap.status).toBe(201);

    const trail = await h.api('GET', '/api/v1/audit-events?action=user.invited', undefined, as(key.key));
    expect(trail.status).toBe(200);
    const of = (userId: string) => trail.body.items.find((e: { userId: string }) => e.userId === userId);
    expect(of(viaKey.body.user.id)).toMatchObject({ actor: 'staff:berta', via: 'api_key', apiKey: { id: key.id, name: 'platform backend' } });
    expect(of(viaBootstrap.body.user.id)).toMatchObject({ actor: 'staff:carl', via: 'bootstrap', apiKey: null });
  });
});
