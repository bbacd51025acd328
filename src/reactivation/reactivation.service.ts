import { WorkflowExecutionAlreadyStartedError } from '@temporalio/client';
import { recordAudit } from '../audit/audit.repository.js';
import type { Actor } from '../audit/actor.js';
import type { AppDeps } from '../deps.js';
import { DomainError } from '../errors.js';
import { temporalCall } from '../temporal/calls.js';
import { findUserById } from '../users/user.repository.js';
import { isUuid } from '../users/ids.js';
import { reactivateUntil } from '../users/account-status.js';
import { userView } from '../users/user.view.js';
import { reactivatedSignal, reactivationWorkflowId, type Reactivation } from '../workflows/reactivation.messages.js';
import type { ReactivationWorkflow } from '../workflows/reactivation.messages.js';
import { nextLocalMidnight } from './midnight.js';

/**
 * R10: staff reactivate an inactive user until the next local midnight. The timer is
 * started first: if Temporal is down nothing changes, and if the database write then fails
 * the timer finds another reactivated_at at midnight and leaves the user alone.
 */
export async function reactivateUser(deps: AppDeps, userId: string, actor: Actor) {
  const user = isUuid(userId) ? await findUserById(deps.db, userId) : undefined;
  if (!user) throw new DomainError('UserNotFound', `No user ${userId}.`);
  const now = deps.clock?.() ?? new Date();
  if (user.status === 'invited') {
    throw new DomainError('UserNotInactive', 'The invitation is still pending: re-send it from the email log instead.');
  }
  if (user.status === 'active') {
    const deadline = user.reactivation_deadline ? new Date(user.reactivation_deadline) : undefined;
    // Reactivating twice on one day: same answer, same single timer.
    if (deadline && deadline > now) return { user: userView(user), deadline: deadline.toISOString() };
    throw new DomainError('UserNotInactive', 'The user is already active.');
  }

  const reactivation: Reactivation = {
    userId,
    reactivatedAt: now.toISOString(),
    deadline: nextLocalMidnight(now, deps.config.PLATFORM_TIMEZONE).toISOString(),
  };
  const signalWithStart = () =>
    deps.temporal.workflow.signalWithStart<ReactivationWorkflow, [Reactivation]>('reactivationWorkflow', {
      workflowId: reactivationWorkflowId(userId),
      taskQueue: deps.config.TEMPORAL_TASK_QUEUE,
      args: [reactivation],
      signal: reactivatedSignal,
      signalArgs: [reactivation],
      staticSummary: `Manual reactivation of ${user.username} (${userId})`,
    });
  await temporalCall(deps.temporal, () =>
    signalWithStart().catch((error: unknown) => {
      // Two requests at once (a double click) may both try to start it; the second then
      // finds it running and only signals.
      if (error instanceof WorkflowExecutionAlreadyStartedError) return signalWithStart();
      throw error;
    }),
  );
  const updated = await deps.db.transaction().execute(async (tx) => {
    const row = await reactivateUntil(tx, userId, reactivation.deadline);
    if (row) await recordAudit(tx, { actor, action: 'user.reactivated', userId, details: { deadline: reactivation.deadline } });
    return row;
  });
  if (!updated) {
    // Most likely a double click: the other request reactivated the user a moment ago.
    const latest = await findUserById(deps.db, userId);
    const deadline = latest?.status === 'active' && latest.reactivation_deadline ? new Date(latest.reactivation_deadline) : undefined;
    if (latest && deadline && deadline > now) return { user: userView(latest), deadline: deadline.toISOString() };
    throw new DomainError('UserNotInactive', 'The user changed meanwhile; reload and try again.');
  }
  return { user: userView(updated), deadline: reactivation.deadline };
}
