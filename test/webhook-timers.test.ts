import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { revokeInvitationById } from '../src/invitations/invitation.service.js';
import { completePasswordReset, requestPasswordReset } from '../src/password-resets/password-reset.service.js';
import { reactivateUser } from '../src/reactivation/reactivation.service.js';
import { reactivationWorkflowId } from '../src/workflows/reactivation.messages.js';
import { linkFrom } from './support/harness.js';
import { startTimeSkippingService, type TimeSkippingService } from './support/time-skipping.js';

/**
 * The events whose triggers are timers (the 28-day expiry, R10's midnight) on the
 * time-skipping server: the real workflows and activities write them into the outbox in the
 * transaction of the change. (Delivery is tested on the dev server, test/webhooks.test.ts.)
 */
let s: TimeSkippingService;
beforeEach(async () => {
  s = await startTimeSkippingService();
});
afterEach(async () => s?.close());

const eventsOf = async (userId: string): Promise<Array<Record<string, any>>> =>
  (await s.db.selectFrom('webhook_events').selectAll().where('user_id', '=', userId).orderBy('sequence').execute()).map((e) => ({
    type: e.type,
    sequence: Number(e.sequence),
    ...(e.data as Record<string, any>),
  }));

describe('webhook events written by timers', () => {
  it('an invitation that lapses: invitation.expired and user.deactivated (reason expired); a reset afterwards: user.reactivated', async () => {
    const { input, handle } = await s.invite('lapse.lena', { reminderMs: null });
    expect((await handle.result()).outcome).toBe('expired');
    expect(await eventsOf(input.userId)).toEqual([
      expect.objectContaining({ type: 'user.invited', sequence: 1, invitationId: input.invitationId, actor: 'staff:test' }),
      expect.objectContaining({ type: 'invitation.expired', sequence: 2, invitationId: input.invitationId, actor: 'system' }),
      expect.objectContaining({ type: 'user.deactivated', sequence: 3, reason: 'expired', invitationId: input.invitationId }),
    ]);

    // R9: forgot password brings the inactive user back; the platform hears it.
    await requestPasswordReset(s.deps, input.email);
    const mail = await s.mail.waitFor((m) => m.to.includes(input.email) && m.text.includes('/password/reset'), 15_000);
    await completePasswordReset(s.deps, linkFrom(mail.text, '/password/reset').token, 'correct horse battery staple');
    expect((await eventsOf(input.userId)).slice(3)).toEqual([expect.objectContaining({ type: 'user.reactivated', sequence: 4, via: 'password_reset' })]);
  });

  it('a manual reactivation unused by midnight: user.reactivated, then user.deactivated (reason midnight)', async () => {
    const { input } = await s.invite('midnight.max', { reminderMs: null });
    await revokeInvitationById(s.deps, input.invitationId, { name: 'staff:test', key: null });
    const { deadline } = await reactivateUser(s.deps, input.userId, { name: 'staff:rita', key: null });
    const outcome = await s.env.client.workflow.getHandle(reactivationWorkflowId(input.userId)).result();
    expect(outcome.outcome).toBe('deactivated');
    expect((await eventsOf(input.userId)).map((e) => [e.type, e.sequence, e.reason ?? e.via ?? null])).toEqual([
      ['user.invited', 1, null],
      ['invitation.revoked', 2, null],
      ['user.deactivated', 3, 'staff'],
      ['user.reactivated', 4, 'staff'],
      ['user.deactivated', 5, 'midnight'],
    ]);
    expect((await eventsOf(input.userId))[4]).toMatchObject({ deadline, actor: 'system' });
  });
});
