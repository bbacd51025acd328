import { continueAsNew, proxyActivities, sleep, workflowInfo } from '@temporalio/workflow';
import type { createActivities } from '../activities/index.js';
import type { BulkInvitationInput } from './bulk-invitation.messages.js';

type Activities = ReturnType<typeof createActivities>;

// One step invites one tick's rows. Business failures are recorded per row and never fail
// the step; what throws is an outage (database, Temporal), so retry for as long as it takes.
// A retry repeats only the rows still pending, each under its own Idempotency-Key, so no row
// is invited twice. Heartbeats come after each row: a dead worker is noticed in a minute.
const { inviteBulkRows } = proxyActivities<Activities>({
  startToCloseTimeout: '5 minutes',
  heartbeatTimeout: '1 minute',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute' },
});

/** Short ticks spread a second's rows evenly instead of sending them in one burst. */
const MIN_TICK_MS = 200;
/** Each tick adds about 8 events; a fresh run every 250 ticks keeps the history near 2,000. */
const TICKS_PER_RUN = 250;

/**
 * Invites a batch's pending rows at BULK_INVITES_PER_SECOND: every tick, one activity invites
 * `perTick` rows through the normal invite path (each becomes its own invitation workflow,
 * which sends the mail), then a durable timer waits out the rest of the tick. The state is
 * the table, so continue-as-new needs to carry nothing but the input.
 */
export async function bulkInvitationWorkflow(input: BulkInvitationInput): Promise<void> {
  const perTick = Math.max(1, Math.ceil((input.perSecond * MIN_TICK_MS) / 1000));
  const tickMs = (perTick * 1000) / input.perSecond;
  for (let tick = 0; ; tick++) {
    const began = Date.now();
    const { remaining } = await inviteBulkRows({ batchId: input.batchId, limit: perTick });
    if (remaining === 0) return;
    // The tick counts from before the step: a slow step is not followed by a full wait.
    const rest = Math.ceil(tickMs - (Date.now() - began));
    if (rest > 0) await sleep(rest);
    if (tick + 1 >= (input.ticksPerRun ?? TICKS_PER_RUN) || workflowInfo().continueAsNewSuggested) {
      await continueAsNew<typeof bulkInvitationWorkflow>(input);
    }
  }
}
