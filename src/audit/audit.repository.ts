import type { Queryable } from '../db/database.js';
import { webhookEventsFor } from '../webhooks/events.js';
import { appendWebhookEvents } from '../webhooks/outbox.repository.js';

export type AuditAction =
  | 'user.invited'
  | 'invitation.email_sent'
  | 'invitation.accepted'
  | 'invitation.expired'
  | 'invitation.revoked'
  | 'user.login'
  | 'user.reactivated'
  | 'user.reactivation_expired'
  | 'user.updated'
  | 'user.overwritten'
  | 'user.deleted'
  | 'password.reset_completed'
  | 'email.resent'
  | 'email.failed'
  | 'webhook.endpoint_disabled';

/**
 * Who did what to whom, written in the same transaction as the change it describes. The
 * webhook events the change implies go into the outbox here too, so they share that
 * transaction: a crash can neither lose an event nor report a change that did not commit.
 */
export async function recordAudit(
  db: Queryable,
  event: { actor: string | null; action: AuditAction; userId: string | null; details?: Record<string, unknown> },
): Promise<void> {
  await db
    .insertInto('audit_events')
    .values({ actor: event.actor, action: event.action, user_id: event.userId, details: JSON.stringify(event.details ?? {}) })
    .execute();
  if (event.userId) await appendWebhookEvents(db, event.userId, webhookEventsFor(event.action, event.actor, event.details ?? {}));
}
