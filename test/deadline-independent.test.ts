import { ApplicationFailure } from '@temporalio/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { createActivities } from '../src/activities/index.js';
import { activityFailures } from '../src/metrics.js';
import type { invitationWorkflow } from '../src/workflows/invitation.js';
import { invitationWorkflowId, stateQuery } from '../src/workflows/invitation.messages.js';
import { eventually, startHarness, type Harness } from './support/harness.js';
import { startTimeSkippingService, type TimeSkippingService } from './support/time-skipping.js';

/**
 * Issue 14.2: whatever the steps before it do, an invitation ends at its deadline. A mail
 * that can never be prepared (a wrong EMAIL_ENCRYPTION_KEY, a template that no longer
 * renders) is the mail's failure, shown in the workflow's state; the user is still
 * `inactive` at the deadline, not `invited` for ever.
 */
type Activities = ReturnType<typeof createActivities>;
const DAY = 86_400_000;

describe('a mail that can never be prepared (non-retryable) does not hold the deadline', () => {
  let s: TimeSkippingService;
  beforeAll(async () => {
    s = await startTimeSkippingService({
      wrapActivities: (activities: Activities) => ({
        ...activities,
        async prepareInvitationEmail(): Promise<never> {
          throw ApplicationFailure.create({ type: 'TemplateBroken', message: 'the template no longer renders', nonRetryable: true });
        },
      }),
    });
  });
  afterAll(async () => s?.close());

  it('the user is inactive at 28 days and the state says why no mail went out', async () => {
    const { input, handle } = await s.start('never.mailed', { reminderMs: null });
    await s.env.sleep(DAY);
    const waiting = await handle.query(stateQuery);
    expect(waiting).toMatchObject({ phase: 'waiting', mail: 'failed', mailError: 'the template no longer renders', outcome: null });
    expect((await s.userRow(input.userId)).status).toBe('invited');

    const final = await handle.result();
    expect(final).toMatchObject({ outcome: 'expired', mail: 'failed' });
    expect(await s.userRow(input.userId)).toMatchObject({ status: 'inactive', deactivation_reason: 'invitation_expired' });
  });
});

describe('a mail step retried without end does not hold the deadline', () => {
  let h: Harness;
  let attempts = 0;
  beforeAll(async () => {
    h = await startHarness({
      config: { INVITATION_TTL: '4s' },
      wrapActivities: ((activities: Activities) => ({
        ...activities,
        async prepareInvitationEmail(): Promise<never> {
          attempts++;
          throw new Error('cannot open the sealed template (wrong key)');
        },
      })) as never,
    });
  });
  afterAll(async () => h?.close());

  it('the user is inactive within seconds of the deadline while the mail step still fails', async () => {
    const res = await h.api('POST', '/api/v1/invitations', { username: 'stuck.step', email: 'stuck.step@example.com', userType: 'member' });
    expect(res.status).toBe(201);
    const expiresAt = Date.parse(res.body.invitation.expiresAt);
    const userId = res.body.user.id as string;
    const inactiveAt = await eventually(async () => {
      const user = await h.db.selectFrom('users').select('status').where('id', '=', userId).executeTakeFirstOrThrow();
      return user.status === 'inactive' && Date.now();
    }, 20_000, 'the user inactive');
    expect(inactiveAt - expiresAt).toBeLessThan(10_000);
    expect(attempts).toBeGreaterThan(1);
    // Operators see it in the worker's metrics too, not only in its log.
    // Summed over its series: the labels (local or not, failure type) split one step's count.
    const failures = (await activityFailures.get()).values.filter((v) => v.labels.activity === 'prepareInvitationEmail').reduce((n, v) => n + v.value, 0);
    expect(failures).toBeGreaterThan(1);
    const final = await h.client.workflow.getHandle<typeof invitationWorkflow>(invitationWorkflowId(userId)).result();
    expect(final).toMatchObject({ outcome: 'expired', mail: 'skipped' });
  });
});
