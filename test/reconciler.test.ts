import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { reconcilePendingInvitations } from '../src/invitations/reconciliation.js';
import { startInvitationReconciler } from '../src/invitations/reconciler.js';
import { createLogger } from '../src/log.js';
import { invitationsReconciled } from '../src/metrics.js';
import { invitationReconcilerWorkflowId } from '../src/workflows/invitation-reconciler.messages.js';
import { invitationWorkflowId, stateQuery } from '../src/workflows/invitation.messages.js';
import { eventually, startHarness, type Harness } from './support/harness.js';

/**
 * Issue 14.8: an operator who terminates or cancels an invitation workflow in Temporal UI
 * must not leave its user `invited` for ever. The reconciler restarts the workflow of every
 * pending invitation that is not running; a restarted one past its deadline expires at once.
 */
let h: Harness;
beforeAll(async () => {
  h = await startHarness({ config: { INVITATION_TTL: '12s', INVITATION_RECONCILE_INTERVAL: '1s' } });
});
afterAll(async () => h?.close());

async function invite(username: string) {
  const res = await h.api('POST', '/api/v1/invitations', { username, email: `${username}@example.com`, userType: 'member', locale: 'en' });
  expect(res.status).toBe(201);
  await h.mail.waitFor((m) => m.to.includes(`${username}@example.com`));
  return { userId: res.body.user.id as string, expiresAt: Date.parse(res.body.invitation.expiresAt) };
}
const mailsTo = (username: string) => h.mail.messages().filter((m) => m.to.includes(`${username}@example.com`)).length;
const status = async (userId: string) => (await h.db.selectFrom('users').select('status').where('id', '=', userId).executeTakeFirstOrThrow()).status;

describe('a pending invitation whose workflow an operator ended', () => {
  it('is restarted by the reconciler without a second mail, and still expires at its deadline', { timeout: 60_000 }, async () => {
    const { userId, expiresAt } = await invite('terminated.tom');
    const handle = h.client.workflow.getHandle(invitationWorkflowId(userId));
    const firstRun = (await handle.describe()).runId;
    await handle.terminate('an operator clicked Terminate in Temporal UI');

    await startInvitationReconciler(h.client, h.config, 0);
    const restarted = await eventually(async () => {
      const described = await handle.describe();
      return described.status.name === 'RUNNING' && described.runId !== firstRun && described;
    }, 15_000, 'the workflow restarted');
    expect(restarted.runId).not.toBe(firstRun);
    expect((await h.client.workflow.getHandle(invitationWorkflowId(userId)).query(stateQuery)).outcome).toBeNull();
    expect(mailsTo('terminated.tom')).toBe(1);

    await eventually(async () => (await status(userId)) === 'inactive', Math.max(expiresAt - Date.now(), 0) + 10_000, 'the user inactive');
    expect(mailsTo('terminated.tom')).toBe(1);
  });

  it('is expired at once when found after its deadline, and counted', { timeout: 60_000 }, async () => {
    // The round runs by hand here, after the deadline: the reconciler of the test above stops.
    await h.client.workflow.getHandle(invitationReconcilerWorkflowId(h.config.TEMPORAL_TASK_QUEUE)).terminate('the round runs by hand');
    const { userId, expiresAt } = await invite('cancelled.cara');
    await h.client.workflow.getHandle(invitationWorkflowId(userId)).cancel();
    await new Promise((resolve) => setTimeout(resolve, Math.max(expiresAt - Date.now(), 0) + 500));
    expect(await status(userId)).toBe('invited');

    const before = (await invitationsReconciled.get()).values.reduce((sum, v) => sum + v.value, 0);
    const round = await reconcilePendingInvitations({ db: h.db, temporal: h.client, config: h.config, log: createLogger('silent') }, { graceMs: 0 });
    expect(round.restarted).toBeGreaterThanOrEqual(1);
    await eventually(async () => (await status(userId)) === 'inactive', 10_000, 'the user inactive');
    const after = (await invitationsReconciled.get()).values.reduce((sum, v) => sum + v.value, 0);
    expect(after - before).toBe(round.restarted);
  });
});
