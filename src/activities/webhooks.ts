import { ApplicationFailure, Context } from '@temporalio/activity';
import { systemNetwork } from '../webhooks/address-policy.js';
import { disabledReporter, dispatchRound, laneWaker } from '../webhooks/dispatch-round.js';
import type { WebhookRetrySettings } from '../workflows/webhook.messages.js';
import { dispatchOutbox, lanesWaiting, markHandedOver, type DispatchedLane } from '../webhooks/outbox.repository.js';
import { attemptDelivery, type AttemptDeps, type AttemptOutcome } from '../webhooks/attempt.js';
import { disableFailingEndpoint, markDeliveryFailed, nextLaneDelivery } from '../webhooks/webhook.repository.js';
import { nextRetryDelayMs } from './email.js';
import type { ActivityDeps } from './index.js';

const BATCH = 200;
/**
 * How long one dispatch activity keeps draining a backlog before it returns (its caller runs
 * another at once if there is more): short enough that a crashed worker's share is retried
 * soon, long enough that a burst costs the dispatcher's history a handful of events.
 */
const DISPATCH_BUDGET_MS = 20_000;
/** How often a running POST tells Temporal it is alive; cancellation and timeouts arrive with the answer. */
const HEARTBEAT_EVERY_MS = 1_000;

export function createWebhookActivities({ db, secretBox, config, webhookNetwork }: ActivityDeps) {
  const network = webhookNetwork ?? systemNetwork;
  const attemptDeps: AttemptDeps = { db, secretBox, config, network, reportDisabled: disabledReporter((message, fields) => Context.current().log.warn(message, fields as Record<string, unknown>)) };
  return {
    /**
     * One round of the dispatcher: fans out up to one batch of the outbox, then names the
     * lanes with deliveries no lane workflow was told about yet. One activity when idle.
     */
    async dispatchWebhookRound(): Promise<{ moreEvents: boolean; lanes: (DispatchedLane & { upTo: string })[] }> {
      const taken = await db.transaction().execute((tx) => dispatchOutbox(tx, BATCH, { includePii: config.WEBHOOK_INCLUDE_PII }));
      return { moreEvents: taken === BATCH, lanes: await lanesWaiting(db, BATCH) };
    },

    /**
     * The dispatcher's round (issue 19.3): fans the outbox out into deliveries in batches and
     * wakes each lane with new work by signal-with-start, here rather than as child workflows
     * of the dispatcher, so the dispatcher's history holds one activity per round however many
     * events and lanes it handled. Drains until the outbox is empty (or the budget is spent).
     * Lanes run on the dispatcher's task queue, which it passes in.
     */
    async dispatchWebhookEvents({ taskQueue, retry }: { taskQueue: string; retry: WebhookRetrySettings }): Promise<{ events: number; lanes: number; sentInline: number; more: boolean }> {
      const context = Context.current();
      return dispatchRound({
        attempt: attemptDeps,
        timeoutMs: config.WEBHOOK_TIMEOUT,
        retry,
        wake: laneWaker(context.client, taskQueue, retry),
        signal: context.cancellationSignal,
        progress: () => context.heartbeat(),
        budgetMs: DISPATCH_BUDGET_MS,
      });
    },

    async markWebhookLanesHandedOver({ lanes }: { lanes: (DispatchedLane & { upTo: string })[] }): Promise<void> {
      await markHandedOver(db, lanes);
    },

    async nextWebhookDelivery({ endpointId, userId }: { endpointId: string; userId: string }): Promise<string | null> {
      return db.transaction().execute((tx) => nextLaneDelivery(tx, endpointId, userId));
    },

    /**
     * One attempt of a delivery in its lane (src/webhooks/attempt.ts): a non-2xx answer or no
     * answer throws, and Temporal retries with backoff; another attempt of the lane still in
     * flight (a retry Temporal started after a timeout, while the first one still sends) is
     * waited for, not doubled. The POST heartbeats, so a timed-out or cancelled attempt learns
     * it and aborts its request.
     */
    async attemptWebhookDelivery({ deliveryId, windowMs }: { deliveryId: string; windowMs: number }): Promise<'succeeded' | 'gone' | 'done before' | 'endpoint disabled'> {
      const context = Context.current();
      // The delay we log is the delay Temporal waits: the log's next attempt time is exact.
      const delayMs = nextRetryDelayMs(context.info);
      const heartbeat = setInterval(() => context.heartbeat(), HEARTBEAT_EVERY_MS);
      let outcome: AttemptOutcome;
      try {
        outcome = await attemptDelivery(attemptDeps, deliveryId, { windowMs, timeoutMs: config.WEBHOOK_TIMEOUT, signal: context.cancellationSignal, retryInMs: delayMs });
      } finally {
        clearInterval(heartbeat);
      }
      switch (outcome.kind) {
        case 'aborted':
          throw context.cancellationSignal.reason;
        case 'busy':
          throw ApplicationFailure.create({ message: 'another attempt of this lane is still in flight', type: 'WebhookAttemptInFlight', nextRetryDelay: outcome.busyForMs });
        case 'failed':
          if (outcome.disabled) throw ApplicationFailure.nonRetryable(`the endpoint was disabled; last attempt: ${outcome.message}`, 'WebhookEndpointDisabled');
          if (delayMs === undefined) throw ApplicationFailure.nonRetryable(`retries ran out; last attempt: ${outcome.message}`, 'WebhookRetriesExhausted');
          throw ApplicationFailure.create({ message: outcome.message, type: 'WebhookDeferred', nextRetryDelay: delayMs });
        default:
          return outcome.kind;
      }
    },

    /**
     * The lane gave up on this delivery: the log says failed, with why. If its retries ran out
     * with no success on the endpoint since its first attempt, the endpoint failed for the
     * whole retry window and is disabled.
     */
    async giveUpWebhookDelivery({ deliveryId, reason }: { deliveryId: string; reason: string }): Promise<void> {
      await db.transaction().execute(async (tx) => {
        const failed = await markDeliveryFailed(tx, deliveryId, reason);
        if (!failed?.first_attempt_at) return;
        if (await disableFailingEndpoint(tx, failed.endpoint_id, { firstAttemptOf: deliveryId })) {
          await attemptDeps.reportDisabled(tx, failed.endpoint_id, reason);
        }
      });
    },
  };
}
