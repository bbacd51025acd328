import { randomUUID } from 'node:crypto';
import type { AppDeps } from '../deps.js';
import { recordAudit } from '../audit/audit.repository.js';
import type { Actor } from '../audit/actor.js';
import { DomainError } from '../errors.js';
import { isUuid } from '../users/ids.js';
import { systemNetwork } from './address-policy.js';
import { openSigningSecrets } from './attempt.js';
import { postWebhook, WebhookSendError } from './sender.js';
import { signedHeaders } from './signing.js';
import { endpointForTest } from './webhook.repository.js';
import { webhookSecretBox } from './webhook.service.js';

/** Not an event anyone subscribes to: sent only when staff ask, to any endpoint, enabled or not. */
export const TEST_EVENT_TYPE = 'webhook.test';

export interface TestEventResult {
  eventId: string;
  /** The receiver answered 2xx within WEBHOOK_TIMEOUT. */
  delivered: boolean;
  status: number | null;
  responseBody: string | null;
  error: string | null;
  durationMs: number;
  /** How many signatures the webhook-signature header carried (2 while a replaced secret still signs). */
  signatures: number;
}

/**
 * Sends one signed `webhook.test` event to the endpoint now and answers with what the receiver
 * said (issue 17.5), so an integrator can check the URL, the network path and the signature
 * check before a real event depends on them. It goes through the same address guard, signing
 * and total deadline as a delivery, and is signed by every secret that signs deliveries now.
 * It is not a delivery: not in the delivery log, no retries, no effect on the failure count or
 * on a disabled endpoint (testing one before enabling it is the point). The audit trail has it.
 */
export async function sendTestEvent(deps: AppDeps, endpointId: string, actor: Actor, signal?: AbortSignal): Promise<TestEventResult> {
  const endpoint = isUuid(endpointId) ? await endpointForTest(deps.db, endpointId) : undefined;
  if (!endpoint) throw new DomainError('WebhookNotFound', `No webhook endpoint ${endpointId}.`);
  const secrets = openSigningSecrets(webhookSecretBox(deps.config), endpoint);
  // Unsigned is never sent; an endpoint whose secret cannot be opened is the operator's to fix.
  if ('error' in secrets) throw new DomainError('DependencyUnavailable', `The endpoint's secret cannot be used: ${secrets.error}.`);

  const eventId = randomUUID();
  const body = JSON.stringify({
    type: TEST_EVENT_TYPE,
    timestamp: new Date().toISOString(),
    data: { endpointId, actor: actor.name, apiKeyId: actor.key, message: 'A test event sent by staff; it changes nothing.' },
  });
  const started = performance.now();
  let result: Omit<TestEventResult, 'eventId' | 'durationMs' | 'signatures'>;
  try {
    const answer = await postWebhook(
      endpoint.url,
      body,
      signedHeaders(secrets.values, eventId, body),
      // A caller that goes away takes its test with it.
      { allowPrivate: deps.config.WEBHOOK_ALLOW_PRIVATE, network: deps.webhookNetwork ?? systemNetwork, timeoutMs: deps.config.WEBHOOK_TIMEOUT, ...(signal ? { signal } : {}) },
    );
    result = { delivered: answer.status >= 200 && answer.status < 300, status: answer.status, responseBody: answer.excerpt, error: null };
  } catch (error) {
    result = { delivered: false, status: null, responseBody: null, error: error instanceof WebhookSendError ? error.message : `could not deliver: ${(error as Error).message}` };
  }
  const outcome = { eventId, ...result, durationMs: Math.round(performance.now() - started), signatures: secrets.values.length };
  await recordAudit(deps.db, {
    actor,
    action: 'webhook.endpoint_tested',
    userId: null,
    details: { endpointId, eventId, delivered: outcome.delivered, status: outcome.status, error: outcome.error },
  });
  return outcome;
}
