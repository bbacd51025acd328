import { ActivityFailure, continueAsNew, proxyActivities, setHandler, workflowInfo } from '@temporalio/workflow';
import type { createActivities } from '../activities/index.js';
import { moreDeliveriesSignal, type WebhookLane } from './webhook.messages.js';
import { webhookTaskQueue } from './task-queues.js';

type Activities = ReturnType<typeof createActivities>;

const db = proxyActivities<Activities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute' },
});

/**
 * One lane: the deliveries of one user's events to one endpoint, one at a time and oldest
 * first, so the user's events arrive in order and one slow endpoint holds up no other. Each
 * delivery is one activity, retried by Temporal with backoff for WEBHOOK_RETRY_WINDOW
 * (3 days by default; the activity records every attempt and disables an endpoint that has
 * failed that long). Then the delivery is failed and the lane goes on. It ends when the lane
 * is empty; the dispatcher starts it again for the next event.
 */
export async function webhookDeliveryWorkflow(lane: WebhookLane): Promise<void> {
  let more = false;
  setHandler(moreDeliveriesSignal, () => {
    more = true;
  });
  const send = proxyActivities<Activities>({
    taskQueue: webhookTaskQueue(workflowInfo().taskQueue),
    startToCloseTimeout: '1 minute',
    // The POST heartbeats: a lost worker's attempt is retried within seconds, and a timed-out or
    // cancelled attempt learns it at its next heartbeat and aborts its request (issue 14.5).
    heartbeatTimeout: '10 seconds',
    scheduleToCloseTimeout: lane.retry.windowMs,
    retry: { initialInterval: lane.retry.initialMs, backoffCoefficient: 2, maximumInterval: lane.retry.maximumMs },
  });
  for (;;) {
    more = false;
    const deliveryId = await db.nextWebhookDelivery({ endpointId: lane.endpointId, userId: lane.userId });
    if (deliveryId === null) {
      if (more) continue;
      return;
    }
    // A user with a long backlog: start over with a fresh history, same lane, same order.
    if (workflowInfo().continueAsNewSuggested) await continueAsNew<typeof webhookDeliveryWorkflow>(lane);
    try {
      await send.attemptWebhookDelivery({ deliveryId, windowMs: lane.retry.windowMs });
    } catch (error) {
      if (!(error instanceof ActivityFailure)) throw error;
      await db.giveUpWebhookDelivery({ deliveryId, reason: error.cause?.message ?? error.message });
    }
  }
}
