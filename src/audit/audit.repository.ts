import type { Queryable } from '../db/database.js';

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
  | 'email.resent';

/** Who did what to whom, written in the same transaction as the change it describes. */
export async function recordAudit(
  db: Queryable,
  event: { actor: string | null; action: AuditAction; userId: string | null; details?: Record<string, unknown> },
): Promise<void> {
  await db
    .insertInto('audit_events')
    .values({ actor: event.actor, action: event.action, user_id: event.userId, details: JSON.stringify(event.details ?? {}) })
    .execute();
}
