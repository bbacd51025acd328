import {
  ParentClosePolicy,
  condition,
  continueAsNew,
  getExternalWorkflowHandle,
  patched,
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

// The round that drains the outbox and wakes lanes itself (it stops taking batches after 20 s).
// It heartbeats after each batch: a worker lost mid-round is noticed within 10 s.
const dispatch = proxyActivities<Activities>({
  startToCloseTimeout: '1 minute',
  heartbeatTimeout: '10 seconds',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute' },
});

/**
 * The history stays small whatever the traffic: a round is a handful of events, and the
 * workflow starts over well before Temporal would suggest it (a long history makes every
 * workflow task that replays it slow; issue 19.3 saw 10k events and 6.6 s tasks).
 */
export const DISPATCHER_HISTORY_BOUND = 1_000;

/** Rounds that fan out in one activity (issue 19.3); histories recorded before it replay the old way. */
export const DISPATCH_IN_ACTIVITY = 'webhook-dispatch-in-activity';

/**
 * Hands committed outbox rows to delivery workflows. Why a long-running workflow rather than
 * "start a workflow after the commit": the event is written inside the change's transaction by
 * dozens of code paths (API services and activities alike), and a process can die between any
 * commit and any Temporal call. This workflow needs no help from them: each round is one
 * activity that fans the outbox out into deliveries and wakes the lanes that have new work,
 * then the workflow waits on a durable timer or a nudge. Workers LISTEN for new outbox rows
 * and nudge it (src/webhooks/wake-up.ts), so an event is picked up at once; the timer
 * (WEBHOOK_DISPATCH_INTERVAL) only covers a nudge that was lost. It survives worker crashes
 * like any workflow, so an event committed just before a crash is picked up by the next round
 * on whichever worker runs then. History is bounded by continue-as-new.
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
    if (patched(DISPATCH_IN_ACTIVITY)) {
      const { more } = await dispatch.dispatchWebhookEvents({ taskQueue: workflowInfo().taskQueue, retry: settings.retry });
      const info = workflowInfo();
      if (info.continueAsNewSuggested || info.historyLength > DISPATCHER_HISTORY_BOUND) await continueAsNew<typeof webhookDispatcherWorkflow>(settings);
      // A backlog the round left (its time budget ran out) is taken up at once.
      if (more) continue;
    } else {
      // Before DISPATCH_IN_ACTIVITY: one activity per batch, the lanes started as children here.
      for (;;) {
        const { moreEvents, lanes } = await db.dispatchWebhookRound();
        await Promise.all(lanes.map((lane) => wakeLane({ endpointId: lane.endpointId, userId: lane.userId, retry: settings.retry })));
        if (lanes.length > 0) await db.markWebhookLanesHandedOver({ lanes });
        if (!moreEvents && lanes.length === 0) break;
      }
      if (workflowInfo().continueAsNewSuggested || round >= 500) await continueAsNew<typeof webhookDispatcherWorkflow>(settings);
    }
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
