import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import { createInvitationActivities } from '../src/activities/invitation.js';
import type { ActivityDeps } from '../src/activities/index.js';
import { eventually, linkFrom, startHarness, type Harness } from './support/harness.js';

/**
 * A step Temporal runs again (the process died right after its transaction committed) must
 * record nothing twice: no second audit row, no second webhook event (issue 19.1).
 */
let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h?.close();
});

async function recorded(userId: string) {
  const audit = await h.db.selectFrom('audit_events').select('action').where('user_id', '=', userId).execute();
  const webhooks = await h.db.selectFrom('webhook_events').select('type').where('user_id', '=', userId).execute();
  return { audit: audit.map((r) => r.action).sort(), webhooks: webhooks.map((r) => r.type).sort() };
}

describe('the expiry step, run twice', () => {
  it('expires once: the second run reports expired but records no audit row or webhook event', async () => {
    const res = await h.api('POST', '/api/v1/invitations', { username: 'rerun.rita', email: 'rerun.rita@example.com', userType: 'member', locale: 'en' });
    expect(res.status).toBe(201);
    const userId = res.body.user.id as string;
    const invitationId = res.body.invitation.id as string;
    // Due by the database's clock, so the step may expire it.
    await h.db.updateTable('invitations').set({ expires_at: sql<Date>`now() - interval '1 second'` }).where('id', '=', invitationId).execute();
    const step = createInvitationActivities({ db: h.db } as unknown as ActivityDeps);

    expect(await step.expireInvitation({ invitationId })).toBe('expired');
    const once = await recorded(userId);
    expect(once.audit.filter((a) => a === 'invitation.expired')).toHaveLength(1);

    expect(await step.expireInvitation({ invitationId })).toBe('expired');
    expect(await recorded(userId)).toEqual(once);
  });
});

describe('the database decides with its own clock (issue 14.3)', () => {
  async function invite(username: string) {
    const res = await h.api('POST', '/api/v1/invitations', { username, email: `${username}@example.com`, userType: 'member', locale: 'en' });
    expect(res.status).toBe(201);
    return { userId: res.body.user.id as string, invitationId: res.body.invitation.id as string };
  }
  const setExpiresAt = (invitationId: string, offset: string) =>
    h.db.updateTable('invitations').set({ expires_at: sql<Date>`now() + ${offset}::interval` }).where('id', '=', invitationId).execute();
  const statusOf = async (invitationId: string) =>
    (await h.db.selectFrom('invitations').select('status').where('id', '=', invitationId).executeTakeFirstOrThrow()).status;

  it('a revoke after expires_at by the database clock is 409 InvitationNotPending, not 204, and changes nothing', async () => {
    const { invitationId } = await invite('late.lara');
    await setExpiresAt(invitationId, '-1 second');
    const res = await h.api('DELETE', `/api/v1/invitations/${invitationId}`);
    expect(res.status).toBe(409);
    expect(await statusOf(invitationId)).toBe('pending');
  });
});

describe('a password reset records the status it changed under the lock (issue 14.4)', () => {
  it('a deactivation committed while the reset hashes is what the reset records: user.reactivated is emitted', async () => {
    const email = 'stale.stan@example.com';
    const res = await h.api('POST', '/api/v1/invitations', { username: 'stale.stan', email, userType: 'member', locale: 'en' });
    const userId = res.body.user.id as string;
    await h.api('POST', '/api/v1/public/password-resets', { email }, { authorization: '' });
    const mail = await h.mail.waitFor((m) => m.to.includes(email) && m.text.includes('/password/reset'));
    const { token } = linkFrom(mail.text, '/password/reset');

    // Hold the user's lock, let the reset read the invitee and block on it, then deactivate and commit.
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    const locker = h.db.transaction().execute(async (tx) => {
      await tx.selectFrom('users').select('id').where('id', '=', userId).forUpdate().execute();
      await released;
      await tx
        .updateTable('users')
        .set({ status: 'inactive', deactivated_at: sql<Date>`now()`, deactivation_reason: 'invitation_expired' })
        .where('id', '=', userId)
        .execute();
    });
    const completing = h.api('POST', '/api/v1/public/password-resets/complete', { token, password: 'a long and fine passphrase 42' }, { authorization: '' });
    await eventually(async () => {
      const waiting = await sql<{ n: number }>`select count(*)::int as n from pg_locks where not granted`.execute(h.db);
      return waiting.rows[0]!.n > 0;
    }, 15_000, 'the reset to wait for the lock');
    release();
    await locker;
    expect((await completing).status).toBe(200);

    const audit = await h.db.selectFrom('audit_events').select('details').where('user_id', '=', userId).where('action', '=', 'password.reset_completed').executeTakeFirstOrThrow();
    expect(audit.details).toMatchObject({ previousStatus: 'inactive' });
    expect((await recorded(userId)).webhooks).toContain('user.reactivated');
  });
});
