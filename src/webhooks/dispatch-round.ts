import type { Client } from '@temporalio/client';
import { recordAudit } from '../audit/audit.repository.js';
import { SYSTEM } from '../audit/actor.js';
import type { Queryable } from '../db/database.js';
import type { WebhookDeliveryWorkflow } from '../workflows/webhook.messages.js';
import { moreDeliveriesSignal, webhookLaneWorkflowId, type WebhookRetrySettings } from '../workflows/webhook.messages.js';
import { attemptDelivery, type AttemptDeps } from './attempt.js';
import { webhookEndpointsDisabled } from './metrics.js';
import { dispatchOutbox, lanesWaiting, markHandedOver, type DispatchedLane } from './outbox.repository.js';

const BATCH = 200;
/**
 * A lane's first attempt is made right in the round when the lane is idle (the common case:
 * one event, a healthy receiver), bounded by this (or WEBHOOK_TIMEOUT if shorter) so a slow
 * receiver cannot hold up the round for everyone. Anything but a 2xx in time hands the lane
 * to its workflow, which retries with the full timeout and backoff.
 */
const INLINE_ATTEMPT_MS = 2_000;
/** First attempts made at once by one round (each a POST to some receiver). */
const INLINE_CONCURRENCY = 32;

export interface RoundDeps {
  attempt: AttemptDeps;
  /** WEBHOOK_TIMEOUT. */
  timeoutMs: number;
  retry: WebhookRetrySettings;
  /** Starts the lane's workflow or tells the running one there is more. */
  wake: (lane: DispatchedLane) => Promise<unknown>;
  signal?: AbortSignal;
  /** After each batch (the activity heartbeats). */
  progress?: () => void;
  /** Stop taking batches after this long; the caller runs another round if `more`. */
  budgetMs: number;
}

/** signal-with-start of a lane's workflow, on the given task queue (the dispatcher's). */
export const laneWaker = (client: Client, taskQueue: string, retry: WebhookRetrySettings) => (lane: DispatchedLane) =>
  client.workflow.signalWithStart<WebhookDeliveryWorkflow, []>('webhookDeliveryWorkflow', {
    workflowId: webhookLaneWorkflowId(lane.endpointId, lane.userId),
    taskQueue,
    args: [{ endpointId: lane.endpointId, userId: lane.userId, retry }],
    signal: moreDeliveriesSignal,
    signalArgs: [],
  });

/**
 * An endpoint was disabled: an audit row in the same transaction, a metric and a log line
 * (the log and the metric may repeat if the transaction is retried; the audit row cannot).
 */
export const disabledReporter = (warn: (message: string, fields: object) => void) => async (tx: Queryable, endpointId: string, lastError: string) => {
  await recordAudit(tx, { actor: SYSTEM, action: 'webhook.endpoint_disabled', userId: null, details: { endpointId, lastError } });
  webhookEndpointsDisabled.inc();
  warn('webhook endpoint disabled: every attempt failed for the retry window (WEBHOOK_RETRY_WINDOW)', { endpointId, lastError });
};

async function pool<T>(items: T[], concurrency: number, task: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, items.length) }, async () => {
      while (next < items.length) await task(items[next++]!);
    }),
  );
}

/**
 * One dispatch round (issue 19.3): fans the outbox out into deliveries in batches, tries the
 * one delivery of each idle lane at once (under the lane's lease, so still one attempt in
 * flight per lane and in order) and wakes the lanes with anything else by signal-with-start.
 * Drains until the outbox is empty or the budget is spent. Safe to run anywhere, any number of
 * times at once: outbox rows are locked while fanned out, and the lease decides who sends.
 */
export async function dispatchRound(deps: RoundDeps): Promise<{ events: number; lanes: number; sentInline: number; more: boolean }> {
  const { db } = deps.attempt;
  const started = Date.now();
  let events = 0;
  let lanes = 0;
  let sentInline = 0;
  for (;;) {
    const taken = await db.transaction().execute((tx) => dispatchOutbox(tx, BATCH, { includePii: deps.attempt.config.WEBHOOK_INCLUDE_PII }));
    const waiting = await lanesWaiting(db, BATCH);
    await pool(waiting, INLINE_CONCURRENCY, async (lane) => {
      if (lane.only) {
        const outcome = await attemptDelivery(deps.attempt, lane.only, {
          windowMs: deps.retry.windowMs,
          timeoutMs: Math.min(deps.timeoutMs, INLINE_ATTEMPT_MS),
          ...(deps.signal ? { signal: deps.signal } : {}),
          // The lane workflow takes over at once, with its own backoff from there.
          retryInMs: 0,
        });
        if (outcome.kind === 'succeeded' || outcome.kind === 'gone' || outcome.kind === 'done before') {
          sentInline++;
          return;
        }
      }
      await deps.wake(lane);
    });
    if (waiting.length > 0) await markHandedOver(db, waiting);
    events += taken;
    lanes += waiting.length;
    deps.progress?.();
    const more = taken === BATCH || waiting.length === BATCH;
    if (!more) return { events, lanes, sentInline, more: false };
    if (Date.now() - started > deps.budgetMs) return { events, lanes, sentInline, more: true };
  }
}
