import { randomUUID } from 'node:crypto';
import { ApplicationFailure, Context } from '@temporalio/activity';
import type { Queryable } from '../db/database.js';
import { recordAudit } from '../audit/audit.repository.js';
import { SYSTEM } from '../audit/actor.js';
import { systemNetwork } from '../webhooks/address-policy.js';
import { webhookAttempts, webhookEndpointsDisabled } from '../webhooks/metrics.js';
import type { webhookDeliveryWorkflow } from '../workflows/webhook-delivery.js';
import { moreDeliveriesSignal, webhookLaneWorkflowId, type WebhookRetrySettings } from '../workflows/webhook.messages.js';
import { dispatchOutbox, lanesWaiting, markHandedOver, type DispatchedLane } from '../webhooks/outbox.repository.js';
import { postWebhook, WebhookSendError, type WebhookAnswer } from '../webhooks/sender.js';
import { openOrDescribe } from '../mail/sealed-values.js';
import { signWebhook } from '../webhooks/signing.js';
import {
  deliveryForAttempt,
  disableFailingEndpoint,
  markDeliveryFailed,
  nextLaneDelivery,
  recordFailure,
  recordSuccess,
  releaseAttemptLease,
  takeAttemptLease,
} from '../webhooks/webhook.repository.js';
import { nextRetryDelayMs } from './email.js';
import type { ActivityDeps } from './index.js';

const BATCH = 200;
/**
 * How long one dispatch activity keeps draining a backlog before it returns (its caller runs
 * another at once if there is more): short enough that a crashed worker's share is retried
 * soon, long enough that a burst costs the dispatcher's history a handful of events.
 */
const DISPATCH_BUDGET_MS = 20_000;
/** Lanes woken at once: each is one signal-with-start to Temporal. */
const WAKE_CONCURRENCY = 16;
/**
 * The lease outlasts the attempt's own deadline (WEBHOOK_TIMEOUT, enforced in-process) by this
 * much, for the database round trips around it: a lease never lapses while its attempt can
 * still be sending.
 */
const LEASE_MARGIN_MS = 5_000;
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
    async dispatchWebhookEvents({ taskQueue, retry }: { taskQueue: string; retry: WebhookRetrySettings }): Promise<{ events: number; lanes: number; more: boolean }> {
      const context = Context.current();
      const started = Date.now();
      let events = 0;
      let lanes = 0;
      for (;;) {
        const taken = await db.transaction().execute((tx) => dispatchOutbox(tx, BATCH));
        const waiting = await lanesWaiting(db, BATCH);
        for (let i = 0; i < waiting.length; i += WAKE_CONCURRENCY) {
          await Promise.all(
            waiting.slice(i, i + WAKE_CONCURRENCY).map((lane) =>
              context.client.workflow.signalWithStart<typeof webhookDeliveryWorkflow, []>('webhookDeliveryWorkflow', {
                workflowId: webhookLaneWorkflowId(lane.endpointId, lane.userId),
                taskQueue,
                args: [{ endpointId: lane.endpointId, userId: lane.userId, retry }],
                signal: moreDeliveriesSignal,
                signalArgs: [],
              }),
            ),
          );
        }
        if (waiting.length > 0) await markHandedOver(db, waiting);
        events += taken;
        lanes += waiting.length;
        context.heartbeat();
        const more = taken === BATCH || waiting.length === BATCH;
        if (!more) return { events, lanes, more: false };
        if (Date.now() - started > DISPATCH_BUDGET_MS) return { events, lanes, more: true };
      }
    },

    async markWebhookLanesHandedOver({ lanes }: { lanes: (DispatchedLane & { upTo: string })[] }): Promise<void> {
      await markHandedOver(db, lanes);
    },

    async nextWebhookDelivery({ endpointId, userId }: { endpointId: string; userId: string }): Promise<string | null> {
      return db.transaction().execute((tx) => nextLaneDelivery(tx, endpointId, userId));
    },

    /**
     * One signed POST. Every attempt is recorded (status, the answer's start, when the next
     * try is due); a non-2xx answer or no answer throws, and Temporal retries with backoff.
     * The body is the same on every attempt (built from the stored event); the signature is
     * made fresh with each attempt's timestamp, as Standard Webhooks expects.
     *
     * At most one attempt per lane is in flight (issue 14.5): the attempt takes the lane's lease
     * first, and one that finds another attempt still running (a retry Temporal started after a
     * timeout, while the first one still sends) waits for it instead of sending a second copy.
     * The POST has a total deadline of WEBHOOK_TIMEOUT and is aborted when Temporal cancels or
     * times out the activity (the heartbeat brings the news); the result is written only under
     * the lease, so the log never says "succeeded" while another copy is on its way.
     */
    async attemptWebhookDelivery({ deliveryId, windowMs }: { deliveryId: string; windowMs: number }): Promise<'succeeded' | 'gone' | 'done before' | 'endpoint disabled'> {
      const context = Context.current();
      const delivery = await deliveryForAttempt(db, deliveryId);
      if (!delivery) return 'gone'; // the endpoint was deleted with its log
      if (delivery.status !== 'pending') return 'done before';
      // Kept pending: the lane ends (nextWebhookDelivery says null) and enabling sends it.
      if (delivery.endpoint_status !== 'enabled') return 'endpoint disabled';
      const lease = await db.transaction().execute((tx) => takeAttemptLease(tx, delivery, randomUUID(), config.WEBHOOK_TIMEOUT + LEASE_MARGIN_MS));
      if (lease === 'not pending') return 'done before';
      if ('busyForMs' in lease) {
        throw ApplicationFailure.create({ message: 'another attempt of this lane is still in flight', type: 'WebhookAttemptInFlight', nextRetryDelay: lease.busyForMs });
      }
      const { token } = lease;

      const body = JSON.stringify({
        type: delivery.type,
        timestamp: delivery.event_at,
        data: { userId: delivery.user_id, sequence: Number(delivery.sequence), ...delivery.data },
      });
      const timestamp = Math.floor(Date.now() / 1000);
      const secret = openOrDescribe(secretBox, delivery.secret_ciphertext, 'webhook_secret');
      let answer: WebhookAnswer | undefined;
      let error: string | null = 'error' in secret ? secret.error : null;
      const heartbeat = setInterval(() => context.heartbeat(), HEARTBEAT_EVERY_MS);
      try {
        const headers = {
          'webhook-id': delivery.event_id,
          'webhook-timestamp': String(timestamp),
          'webhook-signature': 'value' in secret ? signWebhook(secret.value, delivery.event_id, timestamp, body) : '',
        };
        // Unsigned is never sent: the delivery row shows why instead (issue 19.2).
        if (error === null) {
          answer = await postWebhook(delivery.url, body, headers, {
            allowPrivate: config.WEBHOOK_ALLOW_PRIVATE,
            network,
            timeoutMs: config.WEBHOOK_TIMEOUT,
            signal: context.cancellationSignal,
          });
        }
      } catch (e) {
        error = e instanceof WebhookSendError ? e.message : `could not deliver: ${(e as Error).message}`;
        webhookAttempts.inc({ outcome: e instanceof WebhookSendError && e.refused ? 'refused' : 'failed' });
      } finally {
        clearInterval(heartbeat);
      }
      // An answer that came back before the abort is recorded like any other.
      if (!answer && context.cancellationSignal.aborted) {
        // Temporal gave this attempt up (timed out, cancelled, worker shutting down): the POST is
        // aborted; free the lane for the retry and report the cancellation as such.
        await releaseAttemptLease(db, deliveryId, token);
        throw context.cancellationSignal.reason;
      }
      if (answer && answer.status >= 200 && answer.status < 300) {
        const recorded = await db.transaction().execute((tx) => recordSuccess(tx, deliveryId, delivery.endpoint_id, answer, token));
        webhookAttempts.inc({ outcome: 'succeeded' });
        return recorded ? 'succeeded' : 'done before';
      }
      if (answer) webhookAttempts.inc({ outcome: 'failed' });
      const message = answer ? `the endpoint answered ${answer.status}` : error!;
      const delayMs = nextRetryDelayMs(context.info);
      const disabled = await db.transaction().execute(async (tx) => {
        const off = await recordFailure(
          tx,
          deliveryId,
          delivery.endpoint_id,
          { status: answer?.status ?? null, excerpt: answer?.excerpt ?? null, error: answer ? null : error, nextAttemptAt: delayMs === undefined ? null : new Date(Date.now() + delayMs) },
          windowMs,
          token,
        );
        if (off) await reportDisabled(tx, delivery.endpoint_id, message);
        return off;
      });
      if (disabled) throw ApplicationFailure.nonRetryable(`the endpoint was disabled; last attempt: ${message}`, 'WebhookEndpointDisabled');
      if (delayMs === undefined) throw ApplicationFailure.nonRetryable(`retries ran out; last attempt: ${message}`, 'WebhookRetriesExhausted');
      // The delay we logged is the delay Temporal waits: the log's next attempt time is exact.
      throw ApplicationFailure.create({ message, type: 'WebhookDeferred', nextRetryDelay: delayMs });
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
