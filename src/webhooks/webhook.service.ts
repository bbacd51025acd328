import { randomUUID } from 'node:crypto';
import type { Config } from '../config.js';
import type { AppDeps } from '../deps.js';
import { DomainError } from '../errors.js';
import type { SecretBox } from '../mail/secret-box.js';
import { decodeCursor, keysetPage } from '../paging.js';
import { loadSecretBox } from '../runtime.js';
import { signalBestEffort } from '../temporal/calls.js';
import { isUuid } from '../users/ids.js';
import { nudgeDispatcherSignal, webhookDispatcherWorkflowId } from '../workflows/webhook.messages.js';
import { systemNetwork, webhookUrlProblem } from './address-policy.js';
import type { WebhookEventType } from './events.js';
import { generateWebhookSecret, webhookSecretProblem } from './signing.js';
import * as repo from './webhook.repository.js';
import { deliveryView, endpointView } from './webhook.view.js';

const boxes = new WeakMap<Config, SecretBox>();
/** Secrets are sealed with the key that seals logged links (EMAIL_ENCRYPTION_KEY). */
export function webhookSecretBox(config: Config): SecretBox {
  let box = boxes.get(config);
  if (!box) boxes.set(config, (box = loadSecretBox(config)));
  return box;
}

const invalid = (field: string, message: string) => new DomainError('ValidationFailed', `The ${field} is not acceptable: ${message}.`, { errors: [{ field, message }] });

async function checkUrl(deps: AppDeps, url: string) {
  const problem = await webhookUrlProblem(url, { allowPrivate: deps.config.WEBHOOK_ALLOW_PRIVATE, network: deps.webhookNetwork ?? systemNetwork });
  if (problem) throw invalid('url', problem);
}

function checkSecret(secret: string) {
  const problem = webhookSecretProblem(secret);
  if (problem) throw invalid('secret', problem);
}

async function endpointOrThrow(deps: AppDeps, id: string) {
  const endpoint = isUuid(id) ? await repo.findEndpoint(deps.db, id) : undefined;
  if (!endpoint) throw new DomainError('WebhookNotFound', `No webhook endpoint ${id}.`);
  return endpoint;
}

export interface NewEndpoint {
  url: string;
  events: WebhookEventType[];
  description?: string | undefined;
  secret?: string | undefined;
}

/** The secret is shown in this answer only; later reads never include it. */
export async function createWebhookEndpoint(deps: AppDeps, input: NewEndpoint, actor: string | null) {
  if (input.secret !== undefined) checkSecret(input.secret);
  await checkUrl(deps, input.url);
  const secret = input.secret ?? generateWebhookSecret();
  const row = await repo.insertEndpoint(deps.db, {
    id: randomUUID(),
    url: input.url,
    description: input.description ?? null,
    event_types: [...new Set(input.events)],
    secret_ciphertext: webhookSecretBox(deps.config).seal(secret),
    created_by: actor,
  });
  return { ...endpointView(row), secret };
}

export async function listWebhookEndpoints(deps: AppDeps, query: { limit: number; cursor?: string | undefined }) {
  const rows = await repo.listEndpoints(deps.db, query.limit + 1, query.cursor ? decodeCursor(query.cursor) : undefined);
  return keysetPage(rows, query.limit, endpointView);
}

export async function getWebhookEndpoint(deps: AppDeps, id: string) {
  return endpointView(await endpointOrThrow(deps, id));
}

export interface EndpointEdit {
  url?: string | undefined;
  events?: WebhookEventType[] | undefined;
  description?: string | null | undefined;
  secret?: string | undefined;
  rotateSecret?: boolean | undefined;
  status?: 'enabled' | 'disabled' | undefined;
}

/** A new or rotated secret is in this answer only. Enabling again starts a fresh failure count. */
export async function updateWebhookEndpoint(deps: AppDeps, id: string, edit: EndpointEdit) {
  await endpointOrThrow(deps, id);
  if (edit.secret !== undefined && edit.rotateSecret) throw invalid('rotateSecret', 'give either a secret or rotateSecret, not both');
  if (edit.secret !== undefined) checkSecret(edit.secret);
  if (edit.url !== undefined) await checkUrl(deps, edit.url);
  const secret = edit.secret ?? (edit.rotateSecret ? generateWebhookSecret() : undefined);
  const row = await deps.db.transaction().execute(async (tx) => {
    let updated = await repo.updateEndpoint(tx, id, {
      ...(edit.url !== undefined ? { url: edit.url } : {}),
      ...(edit.events !== undefined ? { event_types: [...new Set(edit.events)] } : {}),
      ...(edit.description !== undefined ? { description: edit.description } : {}),
      ...(secret !== undefined ? { secret_ciphertext: webhookSecretBox(deps.config).seal(secret) } : {}),
    });
    if (updated && edit.status === 'enabled' && updated.status !== 'enabled') updated = await repo.enableEndpoint(tx, id);
    if (updated && edit.status === 'disabled' && updated.status !== 'disabled') {
      updated = await repo.updateEndpoint(tx, id, { status: 'disabled', disabled_at: new Date(), disabled_reason: 'disabled through the API' });
    }
    return updated;
  });
  if (!row) throw new DomainError('WebhookNotFound', `No webhook endpoint ${id}.`);
  return { ...endpointView(row), ...(secret !== undefined ? { secret } : {}) };
}

/** Deleting drops its delivery log too; lanes still running find it gone and stop. */
export async function deleteWebhookEndpoint(deps: AppDeps, id: string): Promise<void> {
  if (!isUuid(id) || !(await repo.deleteEndpoint(deps.db, id))) throw new DomainError('WebhookNotFound', `No webhook endpoint ${id}.`);
}

export async function listWebhookDeliveries(deps: AppDeps, id: string, query: { limit: number; cursor?: string | undefined }) {
  await endpointOrThrow(deps, id);
  const rows = await repo.listDeliveries(deps.db, id, query.limit + 1, query.cursor ? decodeCursor(query.cursor) : undefined);
  return keysetPage(rows, query.limit, deliveryView);
}

/**
 * Sends an event to the endpoint again, as a new delivery at the back of the user's lane
 * with the same `webhook-id` (receivers deduplicate by it). The dispatcher hands it over on
 * its next round; the nudge only makes that sooner.
 */
export async function redeliverWebhook(deps: AppDeps, endpointId: string, deliveryId: string, actor: string | null) {
  const endpoint = await endpointOrThrow(deps, endpointId);
  const original = isUuid(deliveryId) ? await repo.findDelivery(deps.db, endpointId, deliveryId) : undefined;
  if (!original) throw new DomainError('WebhookDeliveryNotFound', `No delivery ${deliveryId} for webhook endpoint ${endpointId}.`);
  if (endpoint.status !== 'enabled') {
    throw new DomainError('WebhookEndpointDisabled', `The endpoint ${endpointId} is disabled (${endpoint.disabled_reason ?? 'by staff'}): enable it with PATCH {"status":"enabled"} first.`);
  }
  const copy = await repo.insertRedelivery(deps.db, original, randomUUID(), actor);
  await signalBestEffort(deps, webhookDispatcherWorkflowId(deps.config.TEMPORAL_TASK_QUEUE), nudgeDispatcherSignal);
  return deliveryView(copy!);
}
