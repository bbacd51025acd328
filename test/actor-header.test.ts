import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from './support/harness.js';

/**
 * X-Actor: who the audit trail and the webhooks say acted. The name is the caller's word, so
 * the service's own name is reserved and the key that authenticated the call goes beside it;
 * non-ASCII names arrive intact however the client spells them (api.md, README "Actors").
 */
let h: Harness;
let named: { id: string; key: string };
beforeAll(async () => {
  h = await startHarness();
  named = (await h.api('POST', '/api/v1/api-keys', { name: 'actor tests', scopes: ['invitations:write', 'users:write'] })).body;
});
afterAll(async () => h?.close());

const invite = (username: string, headers: Record<string, string>) =>
  h.api('POST', '/api/v1/invitations', { username, email: `${username}@example.com`, userType: 'member', locale: 'en' }, headers);
const auditOf = (userId: string) => h.db.selectFrom('audit_events').selectAll().where('user_id', '=', userId).where('action', '=', 'user.invited').executeTakeFirstOrThrow();
const eventOf = async (userId: string) =>
  (await h.db.selectFrom('webhook_events').selectAll().where('user_id', '=', userId).where('type', '=', 'user.invited').executeTakeFirstOrThrow()).data as Record<string, unknown>;
/** What a client sending the name as raw UTF-8 bytes looks like to Node: one Latin-1 character per byte. */
const rawUtf8 = (name: string) => Buffer.from(name, 'utf8').toString('latin1');

describe('X-Actor', () => {
  it('may not be "system" in any spelling: 422 naming the header, nothing created', async () => {
    for (const [i, headers] of ([{ 'x-actor': 'system' }, { 'x-actor': ' SYSTEM ' }, { 'x-actor': rawUtf8('ｓｙｓｔｅｍ') }, { 'x-actor': 'sys%74em' }, { 'x-actor*': "UTF-8''System" }] as Record<string, string>[]).entries()) {
      const res = await invite(`not.system.${i}`, headers);
      expect(res.status, JSON.stringify(headers)).toBe(422);
      expect(res.headers.get('content-type')).toContain('application/problem+json');
      expect(res.body.errors[0].field).toMatch(/^header\/X-Actor\*?$/);
      expect(await h.db.selectFrom('users').select('id').where('username', '=', `not.system.${i}`).execute()).toEqual([]);
    }
    // A name that merely contains the word is a name.
    expect((await invite('system.admin.ok', { 'x-actor': 'staff:system-admin' })).status).toBe(201);
  });

  it('arrives as UTF-8 whether percent-encoded, RFC 8187 or raw bytes, and is stored intact', async () => {
    for (const [username, headers] of [
      ['utf8.percent', { 'x-actor': 'j%C3%BCrgen' }],
      ['utf8.extended', { 'x-actor*': "UTF-8''j%C3%BCrgen", 'x-actor': 'ignored-fallback' }],
      ['utf8.raw', { 'x-actor': rawUtf8('jürgen') }],
    ] as const) {
      const res = await invite(username, headers);
      expect(res.status, username).toBe(201);
      expect((await auditOf(res.body.user.id)).actor, username).toBe('jürgen');
    }
    const trail = await h.api('GET', `/api/v1/audit-events?actor=${encodeURIComponent('jürgen')}`);
    expect(trail.body.items.length).toBeGreaterThanOrEqual(3);
  });

  it('refuses what is not UTF-8 with 422 rather than storing a garbled name', async () => {
    for (const headers of [{ 'x-actor': 'j%FCrgen' } as Record<string, string>, { 'x-actor': 'j\u00fcrgen' /* a Latin-1 byte, not UTF-8 */ }, { 'x-actor': '100%' }, { 'x-actor*': "ISO-8859-1''j%FCrgen" }]) {
      const res = await invite('garbled.name', headers);
      expect(res.status, JSON.stringify(headers)).toBe(422);
    }
    expect(await h.db.selectFrom('users').select('id').where('username', '=', 'garbled.name').execute()).toEqual([]);
  });

  it('goes with the key that authenticated the call, in the audit trail and in the webhook payload', async () => {
    const viaNamed = await invite('actor.named.key', { authorization: `Bearer ${named.key}`, 'x-actor': 'staff:berta' });
    expect(viaNamed.status).toBe(201);
    expect(await auditOf(viaNamed.body.user.id)).toMatchObject({ actor: 'staff:berta', via: 'api_key', api_key_id: named.id });
    expect(await eventOf(viaNamed.body.user.id)).toMatchObject({ actor: 'staff:berta', apiKeyId: named.id });

    const viaBootstrap = await invite('actor.bootstrap', { 'x-actor': 'staff:carl' });
    expect(await eventOf(viaBootstrap.body.user.id)).toMatchObject({ actor: 'staff:carl', apiKeyId: 'bootstrap' });
  });
});
