import { sql } from 'kysely';
import type { Queryable } from '../db/database.js';
import type { EmailRow, EmailsTable } from '../db/schema.js';
import type { Insertable } from 'kysely';

/** Stands in the logged bodies where the personal link was (security.md 7). */
export const LINK_PLACEHOLDER = '{{personal_link}}';

export async function findEmailByKey(db: Queryable, key: string): Promise<EmailRow | undefined> {
  return db.selectFrom('emails').selectAll().where('idempotency_key', '=', key).executeTakeFirst();
}

export async function findEmailById(db: Queryable, id: string): Promise<EmailRow | undefined> {
  return db.selectFrom('emails').selectAll().where('id', '=', id).executeTakeFirst();
}

export async function insertEmail(db: Queryable, row: Insertable<EmailsTable>): Promise<EmailRow> {
  return db.insertInto('emails').values(row).returningAll().executeTakeFirstOrThrow();
}

export async function recordAttempt(db: Queryable, id: string): Promise<void> {
  await db
    .updateTable('emails')
    .set({ attempts: sql<number>`attempts + 1`, last_attempt_at: sql<Date>`now()` })
    .where('id', '=', id)
    .execute();
}

/** `smtpResponse` is the server's answer (e.g. "250 2.0.0 Ok: queued as …"), R13's proof. */
export async function markSent(db: Queryable, id: string, messageId: string, smtpResponse: string): Promise<void> {
  await db
    .updateTable('emails')
    .set({ status: 'sent', sent_at: sql<Date>`now()`, message_id: messageId, smtp_response: smtpResponse.slice(0, 1000), error: null })
    .where('id', '=', id)
    .execute();
}

export async function recordFailure(db: Queryable, id: string, error: string, final: boolean): Promise<void> {
  await db
    .updateTable('emails')
    .set(final ? { status: 'failed', error } : { error })
    .where('id', '=', id)
    .where('status', '<>', 'sent')
    .execute();
}

/** Replaces every spelling of the link (raw and HTML-escaped) by the placeholder. */
export function redactLink(body: string, link: string): string {
  const escaped = link.replace(/&/g, '&amp;');
  return body.split(link).join(LINK_PLACEHOLDER).split(escaped).join(LINK_PLACEHOLDER);
}

export function restoreLink(body: string, link: string, html: boolean): string {
  return body.split(LINK_PLACEHOLDER).join(html ? link.replace(/&/g, '&amp;') : link);
}
