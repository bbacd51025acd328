import { sql } from 'kysely';
import type { Queryable } from '../db/database.js';
import type { AuditEventRow } from '../db/schema.js';
import { webhookEventsFor } from '../webhooks/events.js';
import { nextWebhookSequences, webhookEventRows } from '../webhooks/outbox.repository.js';
import type { AuditAction } from './actions.js';
import { BOOTSTRAP_KEY, CONSOLE_KEY, type Actor } from './actor.js';


/**
 * Who did what to whom, written in the same transaction as the change it describes. The
 * webhook events the change implies go into the outbox here too, so they share that
 * transaction: a crash can neither lose an event nor report a change that did not commit.
 */
export async function recordAudit(
  db: Queryable,
  event: { actor: Actor; action: AuditAction; userId: string | null; details?: Record<string, unknown> },
): Promise<void> {
  const { key } = event.actor;
  const via: 'bootstrap' | 'api_key' | 'console' | null =
    key === null ? null : key === BOOTSTRAP_KEY ? 'bootstrap' : key === CONSOLE_KEY ? 'console' : 'api_key';
  const row = {
    actor: event.actor.name,
    action: event.action,
    user_id: event.userId,
    // The object itself: postgres.js serialises jsonb parameters, so a string would be stored as a JSON string.
    details: event.details ?? {},
    via,
    api_key_id: via === 'api_key' ? key : null,
  };
  const drafts = event.userId ? webhookEventsFor(event.action, event.actor, event.details ?? {}) : [];
  if (!event.userId || drafts.length === 0) {
    await db.insertInto('audit_events').values(row).execute();
    return;
  }
  // Events echo the user's metadata (issue 17.3): one more read by primary key, in this
  // transaction, and only for the changes that tell the platform something.
  const subject = await db.selectFrom('users').select('metadata').where('id', '=', event.userId).executeTakeFirst();
  const events = subject && Object.keys(subject.metadata).length ? webhookEventsFor(event.action, event.actor, event.details ?? {}, subject.metadata) : drafts;
  // One statement for both rows: every path that changes a user pays for it (docs/benchmarks.md).
  await db
    .with('webhook_sequence', (q) => nextWebhookSequences(q, event.userId!, events.length))
    .with('audit_row', (q) => q.insertInto('audit_events').values(row))
    .insertInto('webhook_events')
    .columns(['id', 'user_id', 'sequence', 'type', 'data'])
    .expression(webhookEventRows(event.userId, events))
    .execute();
}

export interface AuditQuery {
  userId?: string | undefined;
  actor?: string | undefined;
  action?: AuditAction | undefined;
  /** ISO 8601 instants as text: at or after `from`, before `to`. */
  from?: string | undefined;
  to?: string | undefined;
  after?: { createdAt: string; id: string } | undefined;
  limit: number;
}

export type AuditEventListRow = AuditEventRow & { cursor_created_at: string; api_key_name: string | null };

const exactAt = sql<string>`to_char(audit_events.at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;
// Sent as text: postgres.js would pass a timestamptz parameter through a JS Date (ms).
const instant = (text: string) => sql<Date>`${text}::text::timestamptz`;

/** Newest first, keyset-paginated on (at, id) so pages never skip or repeat rows. */
export async function listAuditEvents(db: Queryable, query: AuditQuery): Promise<AuditEventListRow[]> {
  let q = db
    .selectFrom('audit_events')
    .leftJoin('api_keys', 'api_keys.id', 'audit_events.api_key_id')
    .selectAll('audit_events')
    .select([exactAt.as('cursor_created_at'), 'api_keys.name as api_key_name']);
  if (query.userId) q = q.where('audit_events.user_id', '=', query.userId);
  if (query.actor) q = q.where('audit_events.actor', '=', query.actor);
  if (query.action) q = q.where('audit_events.action', '=', query.action);
  if (query.from) q = q.where('audit_events.at', '>=', instant(query.from));
  if (query.to) q = q.where('audit_events.at', '<', instant(query.to));
  if (query.after) {
    const at = instant(query.after.createdAt);
    const id = query.after.id;
    q = q.where((eb) => eb.or([eb('audit_events.at', '<', at), eb.and([eb('audit_events.at', '=', at), eb('audit_events.id', '<', id)])]));
  }
  return q.orderBy('audit_events.at', 'desc').orderBy('audit_events.id', 'desc').limit(query.limit).execute();
}
