import { condition, proxyActivities, setHandler } from '@temporalio/workflow';
import type { createActivities } from '../activities/index.js';
import { reactivatedSignal, reactivationStateQuery, userDeletedSignal, type Reactivation, type ReactivationState } from './reactivation.messages.js';

type Activities = ReturnType<typeof createActivities>;

// The deadline must be enforced: retry the database step for as long as it takes.
const db = proxyActivities<Activities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '5 minutes' },
});

/**
 * A manual reactivation (R10): the user stays active past the next local midnight only if
 * they logged in after being reactivated. One workflow per user (id from the user id); a
 * second reactivation arrives as a signal and replaces the first, so there is one timer.
 */
export async function reactivationWorkflow(first: Reactivation): Promise<ReactivationState> {
  const state: ReactivationState = { current: first, outcome: null };
  let deleted = false;
  setHandler(reactivatedSignal, (next) => {
    state.current = next;
  });
  setHandler(userDeletedSignal, () => {
    deleted = true;
  });
  setHandler(reactivationStateQuery, () => state);

  for (;;) {
    const waitingFor = state.current;
    const interrupted = await condition(
      () => deleted || state.current !== waitingFor,
      Math.max(Date.parse(waitingFor.deadline) - Date.now(), 0),
    );
    if (deleted) {
      state.outcome = 'cancelled';
      return state;
    }
    if (interrupted) continue; // a newer reactivation: wait for its deadline instead
    const outcome = await db.endManualReactivation({ userId: waitingFor.userId, deadline: waitingFor.deadline });
    // Staff may have reactivated again while that step ran (just after midnight): wait for
    // the new deadline rather than leave that reactivation without a timer.
    if (state.current !== waitingFor && !deleted) continue;
    if (typeof outcome === 'object') {
      state.current = { ...waitingFor, deadline: outcome.laterDeadline };
      continue;
    }
    state.outcome = outcome;
    return state;
  }
}
