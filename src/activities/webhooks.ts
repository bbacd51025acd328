import { ApplicationFailure, Context } from '@temporalio/activity';
import type { Queryable } from '../db/database.js';
import { recordAudit } from '../audit/audit.repository.js';
import { SYSTEM } from '../audit/actor.js';
import { systemNetwork } from '../webhooks/address-policy.js';
import { webhookEndpointsDisabled } from '../webhooks/metrics.js';
import type { webhookDeliveryWorkflow } from '../workflows/webhook-delivery.js';
import { moreDeliveriesSignal, webhookLaneWorkflowId, type WebhookRetrySettings } from '../workflows/webhook.messages.js';
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
/** Runs `task` over `items`, at most `concurrency` at a time. */
async function pool<T>(items: T[], concurrency: number, task: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, items.length) }, async () => {
      while (next < items.length) await task(items[next++]!);
    }),
  );
}
/**
 * A lane's first attempt is made right in the dispatcher's round when the lane is idle (the
 * common case: one event, a healthy receiver), bounded by this (or WEBHOOK_TIMEOUT if
 * shorter) so a slow receiver cannot hold up the round for everyone. Anything but a 2xx in
 * time hands the lane to its workflow, which retries with the full timeout and backoff.
 */
const INLINE_ATTEMPT_MS = 2_000;
/** First attempts made at once by one round (each a POST to some receiver). */
const INLINE_CONCURRENCY = 32;
/** How often a running POST tells Temporal it is alive; cancellation and timeouts arrive with the answer. */
const HEARTBEAT_EVERY_MS = 1_000;

/**
 * An endpoint was disabled: an audit row in the same transaction, a metric and a log line
 * (the log and the metric may repeat if the transaction is retried; the audit row cannot).
 */
async function reportDisabled(tx: Queryable, endpointId: string, lastError: string): Promise<void> {
  await recordAudit(tx, { actor: SYSTEM, action: 'webhook.endpoint_disabled', userId: null, details: { endpointId, lastError } });
  webhookEndpointsDisabled.inc();
  Context.current().log.warn('webhook endpoint disabled: every attempt failed for the retry window (WEBHOOK_RETRY_WINDOW)', { endpointId, lastError });
}

export function createWebhookActivities({ db, secretBox, config, webhookNetwork }: ActivityDeps) {
  const network = webhookNetwork ?? systemNetwork;
  const attemptDeps: AttemptDeps = { db, secretBox, config, network, reportDisabled };
  return {
    /**
     * One round of the dispatcher: fans out up to one batch of the outbox, then names the
     * lanes with deliveries no lane workflow was told about yet. One activity when idle.
     */
    async dispatchWebhookRound(): Promise<{ moreEvents: boolean; lanes: (DispatchedLane & { upTo: string })[] }> {
      const taken = await db.transaction().execute((tx) => dispatchOutbox(tx, BATCH));
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
      const started = Date.now();
      let events = 0;
      let lanes = 0;
      let sentInline = 0;
      const wake = (lane: DispatchedLane) =>
        context.client.workflow.signalWithStart<typeof webhookDeliveryWorkflow, []>('webhookDeliveryWorkflow', {
          workflowId: webhookLaneWorkflowId(lane.endpointId, lane.userId),
          taskQueue,
          args: [{ endpointId: lane.endpointId, userId: lane.userId, retry }],
          signal: moreDeliveriesSignal,
          signalArgs: [],
        });
      for (;;) {
        const taken = await db.transaction().execute((tx) => dispatchOutbox(tx, BATCH));
        const waiting = await lanesWaiting(db, BATCH);
        await pool(waiting, INLINE_CONCURRENCY, async (lane) => {
          // An idle lane with one new delivery: try it here; a 2xx means no lane workflow at all.
          if (lane.only) {
            const outcome = await attemptDelivery(attemptDeps, lane.only, {
              windowMs: retry.windowMs,
              timeoutMs: Math.min(config.WEBHOOK_TIMEOUT, INLINE_ATTEMPT_MS),
              signal: context.cancellationSignal,
              // The lane workflow takes over at once, with its own backoff from there.
              retryInMs: 0,
            });
            if (outcome.kind === 'succeeded' || outcome.kind === 'gone' || outcome.kind === 'done before') {
              sentInline++;
              return;
            }
          }
          await wake(lane);
        });
        if (waiting.length > 0) await markHandedOver(db, waiting);
        events += taken;
        lanes += waiting.length;
        context.heartbeat();
        const more = taken === BATCH || waiting.length === BATCH;
        if (!more) return { events, lanes, sentInline, more: false };
        if (Date.now() - started > DISPATCH_BUDGET_MS) return { events, lanes, sentInline, more: true };
      }
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
          await reportDisabled(tx, failed.endpoint_id, reason);
        }
      });
    },
  };
}
