import { continueAsNew, proxyActivities, sleep } from '@temporalio/workflow';
import type { createActivities } from '../activities/index.js';
import type { ReconcilerSettings } from './invitation-reconciler.messages.js';

type Activities = ReturnType<typeof createActivities>;

// A round may restart many workflows; it is idempotent, so a retry after a crash is harmless.
const { reconcilePendingInvitations } = proxyActivities<Activities>({
  startToCloseTimeout: '10 minutes',
  retry: { initialInterval: '10 seconds', backoffCoefficient: 2, maximumInterval: '5 minutes' },
});

const ROUNDS_PER_RUN = 100;

/**
 * Repairs what an operator or a lost server can do to invitation workflows (README,
 * "Operating"): every interval, pending invitations whose workflow is not running are
 * restarted. A durable timer between rounds; history is bounded by continue-as-new.
 */
export async function invitationReconcilerWorkflow(settings: ReconcilerSettings): Promise<void> {
  for (let round = 0; round < ROUNDS_PER_RUN; round++) {
    await reconcilePendingInvitations({ graceMs: settings.graceMs });
    await sleep(settings.intervalMs);
  }
  await continueAsNew<typeof invitationReconcilerWorkflow>(settings);
}
