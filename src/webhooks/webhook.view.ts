import type { DeliveryListRow } from './webhook.repository.js';
import type { WebhookEndpointsTable } from '../db/schema.js';
import type { Selectable } from 'kysely';
import type { WebhookEventType } from './events.js';

const iso = (value: Date | string | null) => (value === null ? null : new Date(value).toISOString());

export function endpointView(row: Selectable<WebhookEndpointsTable>) {
  return {
    id: row.id,
    url: row.url,
    description: row.description,
    events: row.event_types as WebhookEventType[],
    status: row.status,
    failingSince: iso(row.failing_since),
    disabledAt: iso(row.disabled_at),
    disabledReason: row.disabled_reason,
    // An expired one is as good as none (the database stops using it at that instant).
    previousSecretExpiresAt: row.previous_secret_expires_at !== null && new Date(row.previous_secret_expires_at).getTime() > Date.now() ? iso(row.previous_secret_expires_at) : null,
    createdAt: iso(row.created_at)!,
    updatedAt: iso(row.updated_at)!,
  };
}

export function deliveryView(row: Omit<DeliveryListRow, 'cursor_created_at'>) {
  return {
    id: row.id,
    eventId: row.event_id,
    eventType: row.event_type,
    userId: row.user_id,
    sequence: Number(row.event_sequence),
    status: row.status,
    attempts: row.attempts,
    createdAt: iso(row.created_at)!,
    lastAttemptAt: iso(row.last_attempt_at),
    nextAttemptAt: iso(row.next_attempt_at),
    deliveredAt: iso(row.delivered_at),
    lastResponseStatus: row.last_response_status,
    lastResponseBody: row.last_response_body,
    lastError: row.last_error,
    redeliveryOf: row.redelivery_of,
  };
}
