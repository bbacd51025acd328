import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import { eventually, linkFrom, startHarness, type Harness } from './support/harness.js';
import { startWebhookReceiver } from './support/webhook-receiver.js';

/**
 * An invitation carries the platform's metadata (its tenant, the role in its own terms):
 * stored with the user, answered with it, and in every webhook event about it (issue 17.3).
 */
let h: Harness;
beforeAll(async () => {
  h = await startHarness({ webhooks: true, config: { WEBHOOK_ALLOW_PRIVATE: 'true', WEBHOOK_DISPATCH_INTERVAL: '200ms' } });
});
afterAll(async () => h?.close());

const metadata = { tenant: 'acme', role: 'editor', seats: 3, trial: false };
const invite = (username: string, extra: Record<string, unknown> = {}, headers: Record<string, string> = {}) =>
  h.api('POST', '/api/v1/invitations', { username, email: `${username}@example.com`, userType: 'member', locale: 'en', ...extra }, headers);

describe('metadata on an invitation', () => {
  it('is stored with the user, answered by the invitation and the user, and echoed in every webhook event', async () => {
    const receiver = await startWebhookReceiver();
    expect((await h.api('POST', '/api/v1/webhooks', { url: receiver.url, events: ['user.invited', 'invitation.accepted'] })).status).toBe(201);
    const res = await invite('meta.anna', { metadata });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    expect(res.body.user.metadata).toEqual(metadata);
    const read = await h.api('GET', `/api/v1/users/${res.body.user.id}`);
    expect(read.body.metadata).toEqual(metadata);
    const stored = await h.db.selectFrom('users').select('metadata').where('id', '=', res.body.user.id).executeTakeFirstOrThrow();
    expect(stored.metadata).toEqual(metadata);

    const mail = await h.mail.waitFor((m) => m.to.includes('meta.anna@example.com'), 15_000);
    const accepted = await h.api('POST', '/api/v1/public/invitations/accept', { token: linkFrom(mail.text).token, password: 'a long and unusual passphrase 42' });
    expect(accepted.status, JSON.stringify(accepted.body)).toBe(200);
    const events = await eventually(async () => {
      const got = receiver.acceptedFor(res.body.user.id);
      return got.length === 2 && got;
    }, 20_000, 'user.invited and invitation.accepted');
    expect(events.map((e) => [e.json.type, e.json.data.metadata])).toEqual([
      ['user.invited', metadata],
      ['invitation.accepted', metadata],
    ]);
    await receiver.close();
  });

  it('a user invited without metadata has an empty object, and its events carry none', async () => {
    const res = await invite('meta.none');
    expect(res.body.user.metadata).toEqual({});
    const event = await eventually(async () => h.db.selectFrom('webhook_events').select('data').where('user_id', '=', res.body.user.id).executeTakeFirst());
    expect(event.data).not.toHaveProperty('metadata');
  });

  it.each([
    ['a nested object', { org: { id: 1 } }],
    ['an array', ['acme']],
    ['null as a value', { tenant: null }],
    ['more than 20 keys', Object.fromEntries(Array.from({ length: 21 }, (_, i) => [`k${i}`, i]))],
    ['more than 2 KB', Object.fromEntries(Array.from({ length: 5 }, (_, i) => [`k${i}`, 'x'.repeat(450)]))],
    ['a key with a space', { 'the tenant': 'acme' }],
    ['a string longer than 500 characters', { note: 'x'.repeat(501) }],
  ])('%s is refused with a 422 problem naming metadata, and nobody is invited', async (_what, bad) => {
    const username = `meta.bad${Math.random().toString(36).slice(2, 8)}`;
    const res = await invite(username, { metadata: bad });
    expect(res.status).toBe(422);
    expect(res.headers.get('content-type')).toContain('application/problem+json');
    expect(res.body.errors.map((e: { field: string }) => e.field.split('/')[0])).toContain('metadata');
    expect(await h.db.selectFrom('users').select('id').where('username', '=', username).executeTakeFirst()).toBeUndefined();
  });

  it('the same Idempotency-Key with other metadata is the caller’s mistake (422), with the same metadata a replay', async () => {
    const first = await invite('meta.idem', { metadata }, { 'idempotency-key': 'meta-idem-1' });
    expect(first.status).toBe(201);
    const again = await invite('meta.idem', { metadata: { ...metadata } }, { 'idempotency-key': 'meta-idem-1' });
    expect(again.status).toBe(201);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    const other = await invite('meta.idem', { metadata: { ...metadata, role: 'owner' } }, { 'idempotency-key': 'meta-idem-1' });
    expect(other.status).toBe(422);
  });

  it('the database refuses metadata that is not an object, whatever code writes it', async () => {
    const { user } = (await invite('meta.db')).body;
    await expect(sql`update users set metadata = '[1]'::jsonb where id = ${user.id}`.execute(h.db)).rejects.toThrow(/users_metadata_small_object/);
  });
});
