import {
  ParentClosePolicy,
  condition,
  continueAsNew,
  getExternalWorkflowHandle,
  proxyActivities,
  setHandler,
  startChild,
  workflowInfo,
} from '@temporalio/workflow';
import type { createActivities } from '../activities/index.js';
import { webhookDeliveryWorkflow } from './webhook-delivery.js';
import { moreDeliveriesSignal, nudgeDispatcherSignal, webhookLaneWorkflowId, webhookSettingsSignal, type WebhookSettings } from './webhook.messages.js';

type Activities = ReturnType<typeof createActivities>;

// Database steps: retried until they succeed; nothing here may be given up.
const db = proxyActivities<Activities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute' },
});

/**
 * Hands committed outbox rows to delivery workflows. Why a long-running workflow on a durable
 * timer rather than "start a workflow after the commit": the event is written inside the
 * change's transaction by dozens of code paths (API services and activities alike), and a
 * process can die between any commit and any Temporal call. This workflow needs no help from
 * them: each round fans the outbox out into deliveries and starts or signals the lanes that
 * have new work, then waits on a durable timer (or a nudge). It survives worker crashes like
 * any workflow, so an event committed just before a crash is picked up by the next round on
 * whichever worker runs then. The cost is one indexed query per interval and a delay of at
 * most WEBHOOK_DISPATCH_INTERVAL; history is bounded by continue-as-new.
 */
export async function webhookDispatcherWorkflow(initial: WebhookSettings): Promise<void> {
  let settings = initial;
  let nudged = false;
  setHandler(webhookSettingsSignal, (next) => {
    settings = next;
  });
  setHandler(nudgeDispatcherSignal, () => {
    nudged = true;
  });

  for (let round = 0; ; round++) {
    nudged = false;
    // Fan out everything committed so far (a long backlog in batches) and wake the lanes.
    for (;;) {
      const { moreEvents, lanes } = await db.dispatchWebhookRound();
      await Promise.all(lanes.map((lane) => wakeLane({ endpointId: lane.endpointId, userId: lane.userId, retry: settings.retry })));
      if (lanes.length > 0) await db.markWebhookLanesHandedOver({ lanes });
      if (!moreEvents && lanes.length === 0) break;
    }
    if (workflowInfo().continueAsNewSuggested || round >= 500) await continueAsNew<typeof webhookDispatcherWorkflow>(settings);
    await condition(() => nudged, settings.dispatchIntervalMs);
  }
}

/**
 * Starts the lane's workflow, or tells the running one there is more. A lane that ended
 * between the two is started again. A signal that reaches a lane as it decides to finish is
 * not lost: Temporal refuses to complete a workflow with an unhandled signal, and the lane
 * looks again.
 */
async function wakeLane(lane: { endpointId: string; userId: string; retry: WebhookSettings['retry'] }): Promise<void> {
  const workflowId = webhookLaneWorkflowId(lane.endpointId, lane.userId);
  for (;;) {
    try {
      await startChild(webhookDeliveryWorkflow, {
        workflowId,
        args: [lane],
        // Lanes outlive this round and the dispatcher's continue-as-new.
        parentClosePolicy: ParentClosePolicy.ABANDON,
      });
      return;
    } catch (error) {
      // The SDK's WorkflowExecutionAlreadyStartedError lives in @temporalio/common, which workflows do not import.
      if ((error as Error).name !== 'WorkflowExecutionAlreadyStartedError') throw error;
    }
    try {
      await getExternalWorkflowHandle(workflowId).signal(moreDeliveriesSignal);
      return;
    } catch {
      // It finished in between: start it again.
    }
  }
}
