import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import type { Config } from '../config.js';
import type { AppDeps } from '../deps.js';
import { recordAudit } from '../audit/audit.repository.js';
import type { Actor } from '../audit/actor.js';
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
import { handBackPending } from './outbox.repository.js';
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

/**
 * Where an endpoint sends to, for the audit trail: scheme, host and port only. A webhook URL's
 * path or query often carries a token of the receiver's (Slack-style hook URLs), and the trail
 * never holds a token or a link.
 */
const destination = (url: string) => new URL(url).origin;

/** The secret is shown in this answer only; later reads never include it. */
export async function createWebhookEndpoint(deps: AppDeps, input: NewEndpoint, actor: Actor) {
  if (input.secret !== undefined) checkSecret(input.secret);
  await checkUrl(deps, input.url);
  const secret = input.secret ?? generateWebhookSecret();
  const row = await deps.db.transaction().execute(async (tx) => {
    const created = await repo.insertEndpoint(tx, {
      id: randomUUID(),
      url: input.url,
      description: input.description ?? null,
      event_types: [...new Set(input.events)],
      secret_ciphertext: webhookSecretBox(deps.config).seal(secret),
      created_by: actor.name,
    });
    await recordAudit(tx, {
      actor,
      action: 'webhook.endpoint_created',
      userId: null,
      details: { endpointId: created.id, destination: destination(created.url), events: created.event_types, secret: input.secret !== undefined ? 'given' : 'generated' },
    });
    return created;
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
  /** The secret the last rotation replaced stops signing now (with a rotation: no overlap, e.g. after a leak). */
  expirePreviousSecret?: boolean | undefined;
  status?: 'enabled' | 'disabled' | undefined;
}

/**
 * A new or rotated secret is in this answer only. The secret it replaces keeps signing beside
 * it for WEBHOOK_SECRET_OVERLAP (both signatures on every delivery), unless
 * `expirePreviousSecret`; a second rotation within the overlap is refused unless it says so.
 * Enabling again starts a fresh failure count.
 * Each kind of change is its own audit row, in the change's transaction: a settings change
 * (with from and to), a new secret (never the secret itself), disabling, enabling.
 */
export async function updateWebhookEndpoint(deps: AppDeps, id: string, edit: EndpointEdit, actor: Actor) {
  await endpointOrThrow(deps, id);
  if (edit.secret !== undefined && edit.rotateSecret) throw invalid('rotateSecret', 'give either a secret or rotateSecret, not both');
  if (edit.secret !== undefined) checkSecret(edit.secret);
  if (edit.url !== undefined) await checkUrl(deps, edit.url);
  const secret = edit.secret ?? (edit.rotateSecret ? generateWebhookSecret() : undefined);
  const row = await deps.db.transaction().execute(async (tx) => {
    // Locked, so the audit row's "from" is what this change replaced.
    const before = await repo.findEndpoint(tx, id, { forUpdate: true });
    if (!before) return undefined;
    // A second rotation inside an overlap would drop the secret receivers may still verify
    // with (a lost answer, rotated again): refused; end the overlap first, or rotate with
    // expirePreviousSecret on purpose.
    if (secret !== undefined && !edit.expirePreviousSecret && before.previous_secret_expires_at !== null && new Date(before.previous_secret_expires_at).getTime() > Date.now()) {
      throw invalid(
        edit.secret !== undefined ? 'secret' : 'rotateSecret',
        `the previous secret still signs until ${new Date(before.previous_secret_expires_at).toISOString()}; end that overlap first with {"expirePreviousSecret": true}, or give it together with this rotation`,
      );
    }
    const overlap = secret !== undefined && !edit.expirePreviousSecret;
    let updated = await repo.updateEndpoint(tx, id, {
      ...(edit.url !== undefined ? { url: edit.url } : {}),
      ...(edit.events !== undefined ? { event_types: [...new Set(edit.events)] } : {}),
      ...(edit.description !== undefined ? { description: edit.description } : {}),
      ...(secret !== undefined ? { secret_ciphertext: webhookSecretBox(deps.config).seal(secret) } : {}),
      ...(overlap
        ? {
            previous_secret_ciphertext: before.secret_ciphertext,
            previous_secret_expires_at: sql<Date>`now() + ${`${deps.config.WEBHOOK_SECRET_OVERLAP} milliseconds`}::interval`,
          }
        : edit.expirePreviousSecret
          ? { previous_secret_ciphertext: null, previous_secret_expires_at: null }
          : {}),
    });
    if (!updated) return undefined;
    const audit = (action: 'webhook.endpoint_changed' | 'webhook.endpoint_secret_rotated' | 'webhook.endpoint_enabled' | 'webhook.endpoint_disabled', details: Record<string, unknown> = {}) =>
      recordAudit(tx, { actor, action, userId: null, details: { endpointId: id, ...details } });
    const changes: Record<string, { from: unknown; to: unknown }> = {};
    if (before.url !== updated.url) {
      changes.destination = { from: destination(before.url), to: destination(updated.url) };
    }
    if (before.event_types.join() !== updated.event_types.join()) changes.events = { from: before.event_types, to: updated.event_types };
    if (before.description !== updated.description) changes.description = { from: before.description, to: updated.description };
    if (Object.keys(changes).length > 0) await audit('webhook.endpoint_changed', { changes });
    if (secret !== undefined) {
      await audit('webhook.endpoint_secret_rotated', {
        secret: edit.secret !== undefined ? 'given' : 'generated',
        previousSecretSignsUntil: overlap ? new Date(updated.previous_secret_expires_at!).toISOString() : null,
      });
    } else if (edit.expirePreviousSecret && before.previous_secret_ciphertext !== null) {
      await audit('webhook.endpoint_changed', { changes: { previousSecretSignsUntil: { from: new Date(before.previous_secret_expires_at!).toISOString(), to: null } } });
    }
    if (edit.status === 'enabled' && updated.status !== 'enabled') {
      updated = await repo.enableEndpoint(tx, id);
      await handBackPending(tx, id);
      await audit('webhook.endpoint_enabled');
    }
    if (edit.status === 'disabled' && updated?.status !== 'disabled') {
      updated = await repo.updateEndpoint(tx, id, { status: 'disabled', disabled_at: new Date(), disabled_reason: 'disabled through the API' });
      await audit('webhook.endpoint_disabled', { reason: 'disabled through the API' });
    }
    return updated;
  });
  if (!row) throw new DomainError('WebhookNotFound', `No webhook endpoint ${id}.`);
  // What waited while it was disabled goes out now rather than at the dispatcher's next round.
  if (edit.status === 'enabled') await signalBestEffort(deps, webhookDispatcherWorkflowId(deps.config.TEMPORAL_TASK_QUEUE), nudgeDispatcherSignal);
  return { ...endpointView(row), ...(secret !== undefined ? { secret } : {}) };
}

/** Deleting drops its delivery log too; lanes still running find it gone and stop. The audit row stays. */
export async function deleteWebhookEndpoint(deps: AppDeps, id: string, actor: Actor): Promise<void> {
  const deleted =
    isUuid(id) &&
    (await deps.db.transaction().execute(async (tx) => {
      const gone = await repo.deleteEndpoint(tx, id);
      if (gone) await recordAudit(tx, { actor, action: 'webhook.endpoint_deleted', userId: null, details: { endpointId: id, destination: destination(gone.url) } });
      return gone !== undefined;
    }));
  if (!deleted) throw new DomainError('WebhookNotFound', `No webhook endpoint ${id}.`);
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
