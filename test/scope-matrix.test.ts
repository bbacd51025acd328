import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { scopes } from '../src/api-keys/scopes.js';
import { startHarness, type Harness } from './support/harness.js';

/**
 * Every admin operation of the served OpenAPI document against a named key holding each
 * single scope: the scope the operation declares gets past the check, every other one is a
 * 403 naming it, and the bootstrap-only operations refuse all of them. Built from the
 * document, so a route added later is in the table without anyone remembering to add it.
 */
let h: Harness;
const keyFor = new Map<string, string>();
beforeAll(async () => {
  h = await startHarness();
  for (const scope of [...scopes, 'invitations:write+users:write']) {
    const res = await h.api('POST', '/api/v1/api-keys', { name: `only ${scope}`, scopes: scope.split('+') });
    expect(res.status).toBe(201);
    keyFor.set(scope, res.body.key);
  }
});
afterAll(async () => h?.close());

const as = (scope: string, headers: Record<string, string> = {}) => ({ authorization: `Bearer ${keyFor.get(scope)}`, ...headers });
const NO_SUCH_ID = '00000000-0000-4000-8000-000000000000';

describe('every route × every scope', () => {
  it('lets through exactly the scope the document declares, and refuses the rest with 403 naming it', async () => {
    const doc = (await h.api('GET', '/api/v1/openapi.json')).body;
    let checked = 0;
    for (const [template, item] of Object.entries<any>(doc.paths)) {
      for (const [method, op] of Object.entries<any>(item)) {
        if (!op.security) continue; // public
        const declared: string[] = op.security.flatMap((s: Record<string, string[]>) => s.bearerAuth ?? []);
        // An id that names nothing: the allowed scope gets past authorisation and finds nothing.
        const path = template.replace(/\{type\}/g, 'user_invitation').replace(/\{\w+\}/g, NO_SUCH_ID);
        for (const scope of scopes) {
          const res = await h.api(method.toUpperCase(), path, undefined, as(scope));
          const label = `${method.toUpperCase()} ${template} with ${scope}`;
          if (declared.includes(scope)) {
            expect(res.status, label).not.toBe(403);
            expect(res.status, label).not.toBe(401);
          } else {
            expect(res.status, label).toBe(403);
            expect(res.body.requiredScope, label).toBe(declared[0] ?? null);
          }
          checked++;
        }
      }
    }
    expect(checked).toBeGreaterThan(20 * scopes.length);
  });
});

describe('granting privileges at invitation', () => {
  const row = (username: string, extra: object = {}) => ({ username, email: `${username}@example.com`, userType: 'member', locale: 'en', ...extra });
  const noUser = async (username: string) => expect(await h.db.selectFrom('users').select('id').where('username', '=', username).execute()).toEqual([]);

  it('needs users:write beside invitations:write for isStaff or permissions, single and bulk, dry run included', async () => {
    for (const [name, extra] of [
      ['mint.admin', { isStaff: true }],
      ['mint.perms', { permissions: ['billing:admin'] }],
    ] as const) {
      const single = await h.api('POST', '/api/v1/invitations', row(name, extra), as('invitations:write'));
      expect(single.status, name).toBe(403);
      expect(single.body).toMatchObject({ status: 403, requiredScope: 'users:write' });
      await noUser(name);
      for (const dryRun of ['', '?dryRun=true']) {
        const bulk = await h.api('POST', `/api/v1/invitations/bulk${dryRun}`, { rows: [row(`${name}.plain`), row(`${name}.bulk`, extra)] }, as('invitations:write'));
        expect(bulk.status, `bulk ${name} ${dryRun}`).toBe(403);
        expect(bulk.body.requiredScope).toBe('users:write');
      }
      await noUser(`${name}.plain`);
    }
    const csv = 'username,email,userType,isStaff\ncsv.admin,csv.admin@example.com,member,true\n';
    const viaCsv = await h.api('POST', '/api/v1/invitations/bulk', csv, as('invitations:write', { 'content-type': 'text/csv' }));
    expect(viaCsv.status).toBe(403);
    expect(viaCsv.body.requiredScope).toBe('users:write');
  });

  it('lets invitations:write alone invite without privileges (isStaff false, no permissions)', async () => {
    expect((await h.api('POST', '/api/v1/invitations', row('plain.one', { isStaff: false, permissions: [] }), as('invitations:write'))).status).toBe(201);
    expect((await h.api('POST', '/api/v1/invitations/bulk', { rows: [row('plain.bulk')] }, as('invitations:write'))).status).toBe(202);
  });

  it('lets a key with both scopes, and ADMIN_API_KEY, invite staff', async () => {
    const both = await h.api('POST', '/api/v1/invitations', row('staff.both', { isStaff: true, permissions: ['billing:admin'] }), as('invitations:write+users:write'));
    expect(both.status).toBe(201);
    expect(both.body.user).toMatchObject({ isStaff: true, permissions: ['billing:admin'] });
    expect((await h.api('POST', '/api/v1/invitations', row('staff.root', { isStaff: true }))).status).toBe(201);
  });
});
