import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../src/api/app.js';
import { ADMIN_KEY, startHarness, type Harness } from './support/harness.js';

/** Idempotency-Key on POST /api/v1/invitations: a retry never creates a second invitation. */
let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => h?.close());

const body = (username: string, extra: Record<string, unknown> = {}) => ({ username, email: `${username}@example.com`, userType: 'member', locale: 'en', ...extra });
const invite = (username: string, key: string, extra: Record<string, unknown> = {}) =>
  h.api('POST', '/api/v1/invitations', body(username, extra), { 'idempotency-key': key });
const usersNamed = async (username: string) => h.db.selectFrom('users').select('id').where('username', '=', username).execute();
const workflowsOf = async (userId: string) => {
  const ids: string[] = [];
  for await (const wf of h.client.workflow.list({ query: `UserId = "${userId}"` })) ids.push(wf.workflowId);
  return ids;
};

describe('a retried invitation with the same Idempotency-Key', () => {
  it('returns the first result, marked as replayed, and creates nothing more', async () => {
    const first = await invite('idem.ida', 'key-ida-1');
    expect(first.status).toBe(201);
    expect(first.headers.get('idempotent-replayed')).toBeNull();
    const again = await invite('idem.ida', 'key-ida-1');
    expect(again.status).toBe(201);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(again.body.user.id).toBe(first.body.user.id);
    expect(again.body.invitation).toEqual(first.body.invitation);
    await h.mail.waitFor((m) => m.to.includes('idem.ida@example.com'));
    expect(await usersNamed('idem.ida')).toHaveLength(1);
    expect(await workflowsOf(first.body.user.id)).toHaveLength(1);
    expect(h.mail.messages().filter((m) => m.to.includes('idem.ida@example.com'))).toHaveLength(1);
  });

  it('a double click (both requests at once) gives both the same invitation, one user and one mail', async () => {
    const [a, b] = await Promise.all([invite('idem.dora', 'key-dora'), invite('idem.dora', 'key-dora')]);
    expect([a.status, b.status]).toEqual([201, 201]);
    expect(b.body.user.id).toBe(a.body.user.id);
    expect(b.body.invitation.id).toBe(a.body.invitation.id);
    await h.mail.waitFor((m) => m.to.includes('idem.dora@example.com'));
    expect(await usersNamed('idem.dora')).toHaveLength(1);
    expect(h.mail.messages().filter((m) => m.to.includes('idem.dora@example.com'))).toHaveLength(1);
  });

  it('still answers with the first invitation after the invitee accepted it', async () => {
    const first = await invite('idem.acc', 'key-acc');
    await h.db.updateTable('users').set({ status: 'active', password_hash: 'x' }).where('id', '=', first.body.user.id).execute();
    const again = await invite('idem.acc', 'key-acc');
    expect(again.status).toBe(201);
    expect(again.body.user).toMatchObject({ id: first.body.user.id, status: 'active' });
  });
});

describe('what an Idempotency-Key does not cover', () => {
  it('the same key with a different invitation is a 422 and creates nothing', async () => {
    expect((await invite('idem.first', 'key-shared')).status).toBe(201);
    const other = await invite('idem.second', 'key-shared');
    expect(other.status).toBe(422);
    expect(other.body.type).toMatch(/idempotency-key-reused$/);
    expect(await usersNamed('idem.second')).toHaveLength(0);
    const changed = await invite('idem.first', 'key-shared', { isStaff: true });
    expect(changed.status).toBe(422);
  });

  it('a new key for a name that is taken is the ordinary 409', async () => {
    expect((await invite('idem.taken', 'key-taken-1')).status).toBe(201);
    expect((await invite('idem.taken', 'key-taken-2')).status).toBe(409);
  });

  it('keys are per caller: another admin key with the same key string makes its own invitation', async () => {
    const otherKey = 'second-admin-key-0123456789abcdef';
    const app = createApp({ ...h.deps, adminKeys: [ADMIN_KEY, otherKey] });
    const post = (key: string, username: string) =>
      app.request('/api/v1/invitations', {
        method: 'POST',
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', 'idempotency-key': 'same-string' },
        body: JSON.stringify(body(username)),
      });
    const mine = await post(ADMIN_KEY, 'idem.mine');
    const theirs = await post(otherKey, 'idem.theirs');
    expect([mine.status, theirs.status]).toEqual([201, 201]);
    expect((await theirs.json()).user.id).not.toBe((await mine.json()).user.id);
  });

  it('a malformed key is a 422 naming the header', async () => {
    const res = await invite('idem.bad', 'has spaces in it');
    expect(res.status).toBe(422);
    expect(res.body.errors[0].field).toMatch(/Idempotency-Key/);
    expect(await usersNamed('idem.bad')).toHaveLength(0);
  });
});
