import { randomUUID } from 'node:crypto';
import type { Config } from '../config.js';
import type { Database, Queryable } from '../db/database.js';
import { openOrDescribe } from '../mail/sealed-values.js';
import type { SecretBox } from '../mail/secret-box.js';
import type { WebhookNetwork } from './address-policy.js';
import { webhookAttempts } from './metrics.js';
import { postWebhook, WebhookSendError, type WebhookAnswer } from './sender.js';
import { signedHeaders } from './signing.js';
import { deliveryForAttempt, recordFailure, recordSuccess, releaseAttemptLease, takeAttemptLease } from './webhook.repository.js';

/**
 * The lease outlasts the attempt's own deadline (enforced in-process) by this much, for the
 * database round trips around it: a lease never lapses while its attempt can still be sending.
 */
const LEASE_MARGIN_MS = 5_000;

export type AttemptOutcome =
  | { kind: 'succeeded' | 'gone' | 'done before' | 'endpoint disabled' | 'aborted' }
  | { kind: 'busy'; busyForMs: number }
  | { kind: 'failed'; message: string; disabled: boolean };

export interface AttemptDeps {
  db: Database;
  secretBox: SecretBox;
  config: Pick<Config, 'WEBHOOK_ALLOW_PRIVATE' | 'WEBHOOK_INCLUDE_PII'>;
  network: WebhookNetwork;
  /** The endpoint was disabled by this attempt's failure: record it in the same transaction. */
  reportDisabled: (tx: Queryable, endpointId: string, lastError: string) => Promise<void>;
}

/**
 * The secrets that sign for an endpoint, newest first: its secret, and the one a rotation
 * replaced while that still signs. The current one must open (else nothing is sent: unsigned
 * is never sent); a previous one that cannot is left out, the new one still signs.
 */
export function openSigningSecrets(
  box: SecretBox,
  endpoint: { secret_ciphertext: string; previous_secret_ciphertext: string | null },
): { values: string[] } | { error: string } {
  const current = openOrDescribe(box, endpoint.secret_ciphertext, 'webhook_secret');
  if ('error' in current) return current;
  const previous = endpoint.previous_secret_ciphertext === null ? undefined : openOrDescribe(box, endpoint.previous_secret_ciphertext, 'webhook_secret');
  return { values: previous && 'value' in previous ? [current.value, previous.value] : [current.value] };
}

/**
 * One signed POST of one delivery, recorded. Every attempt is recorded (status, the answer's
 * start, when the next try is due). The body is the same on every attempt (built from the
 * stored event); the signature is made fresh with each attempt's timestamp, as Standard
 * Webhooks expects.
 *
 * At most one attempt per lane is in flight (issue 14.5): the attempt takes the lane's lease
 * first, and reports `busy` if another attempt still runs. The POST has a total deadline
 * (`timeoutMs`) and is aborted by `signal`; the result is written only under the lease, so the
 * log never says "succeeded" while another copy is on its way.
 */
export async function attemptDelivery(
  deps: AttemptDeps,
  deliveryId: string,
  options: { windowMs: number; timeoutMs: number; signal?: AbortSignal; retryInMs: number | undefined },
): Promise<AttemptOutcome> {
  const { db } = deps;
  const delivery = await deliveryForAttempt(db, deliveryId);
  if (!delivery) return { kind: 'gone' }; // the endpoint was deleted with its log
  if (delivery.status !== 'pending') return { kind: 'done before' };
  // Kept pending: the lane ends (nextWebhookDelivery says null) and enabling sends it.
  if (delivery.endpoint_status !== 'enabled') return { kind: 'endpoint disabled' };
  const lease = await db.transaction().execute((tx) => takeAttemptLease(tx, delivery, randomUUID(), options.timeoutMs + LEASE_MARGIN_MS));
  if (lease === 'not pending') return { kind: 'done before' };
  if ('busyForMs' in lease) return { kind: 'busy', busyForMs: lease.busyForMs };
  const { token } = lease;

  const body = JSON.stringify({
    type: delivery.type,
    timestamp: delivery.event_at,
    data: { userId: delivery.user_id, sequence: Number(delivery.sequence), ...delivery.data },
  });
  const secrets = openSigningSecrets(deps.secretBox, delivery);
  let answer: WebhookAnswer | undefined;
  let error: string | null = 'error' in secrets ? secrets.error : null;
  try {
    // Unsigned is never sent: the delivery row shows why instead (issue 19.2).
    if ('values' in secrets) {
      answer = await postWebhook(delivery.url, body, signedHeaders(secrets.values, delivery.event_id, body), {
        allowPrivate: deps.config.WEBHOOK_ALLOW_PRIVATE,
        network: deps.network,
        timeoutMs: options.timeoutMs,
        ...(options.signal ? { signal: options.signal } : {}),
      });
    }
  } catch (e) {
    error = e instanceof WebhookSendError ? e.message : `could not deliver: ${(e as Error).message}`;
    webhookAttempts.inc({ outcome: e instanceof WebhookSendError && e.refused ? 'refused' : 'failed' });
  }
  // An answer that came back before the abort is recorded like any other.
  if (!answer && options.signal?.aborted) {
    // Whoever ran this attempt gave it up: the POST is aborted; free the lane for the retry.
    await releaseAttemptLease(db, deliveryId, token);
    return { kind: 'aborted' };
  }
  if (answer && answer.status >= 200 && answer.status < 300) {
    const recorded = await db.transaction().execute((tx) => recordSuccess(tx, deliveryId, delivery.endpoint_id, answer, token));
    webhookAttempts.inc({ outcome: 'succeeded' });
    return { kind: recorded ? 'succeeded' : 'done before' };
  }
  if (answer) webhookAttempts.inc({ outcome: 'failed' });
  const message = answer ? `the endpoint answered ${answer.status}` : error!;
  const disabled = await db.transaction().execute(async (tx) => {
    const off = await recordFailure(
      tx,
      deliveryId,
      delivery.endpoint_id,
      {
        status: answer?.status ?? null,
        excerpt: answer?.excerpt ?? null,
        error: answer ? null : error,
        nextAttemptAt: options.retryInMs === undefined ? null : new Date(Date.now() + options.retryInMs),
      },
      options.windowMs,
      token,
    );
    if (off) await deps.reportDisabled(tx, delivery.endpoint_id, message);
    return off;
  });
  return { kind: 'failed', message, disabled };
}
