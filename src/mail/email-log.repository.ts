import { sql, type Insertable } from 'kysely';
import { recordAudit } from '../audit/audit.repository.js';
import { SYSTEM } from '../audit/actor.js';
import type { Database, Queryable } from '../db/database.js';
import type { EmailRow, EmailsTable, EmailStatus, EmailType } from '../db/schema.js';

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

/** The newest mail of a type for a user, e.g. "did the invitation go out?" on the user view. */
export async function latestEmailOfUser(db: Queryable, userId: string, type: EmailType): Promise<EmailRow | undefined> {
  return db
    .selectFrom('emails')
    .selectAll()
    .where('user_id', '=', userId)
    .where('type', '=', type)
    .orderBy('created_at', 'desc')
    .orderBy('id', 'desc')
    .limit(1)
    .executeTakeFirst();
}

export async function recordAttempt(db: Queryable, id: string): Promise<void> {
  await db
    .updateTable('emails')
    .set({ attempts: sql<number>`attempts + 1`, last_attempt_at: sql<Date>`now()`, next_attempt_at: null })
    .where('id', '=', id)
    .execute();
}

/** `smtpResponse` is the server's answer (e.g. "250 2.0.0 Ok: queued as …"), R13's proof. */
export async function markSent(db: Queryable, id: string, messageId: string, smtpResponse: string): Promise<void> {
  await db
    .updateTable('emails')
    .set({
      status: 'sent',
      sent_at: sql<Date>`now()`,
      message_id: messageId,
      smtp_response: smtpResponse.slice(0, 1000),
      error: null,
      next_attempt_at: null,
    })
    .where('id', '=', id)
    .execute();
}

/** A transient failure (4xx, no connection, a server that hung): Temporal tries again at `nextAttemptAt`. */
export async function markRetrying(db: Queryable, id: string, error: string, nextAttemptAt: Date): Promise<void> {
  await db
    .updateTable('emails')
    .set({ status: 'retrying', error: error.slice(0, 1000), next_attempt_at: nextAttemptAt })
    .where('id', '=', id)
    .where('status', 'in', ['queued', 'retrying'])
    .execute();
}

/**
 * Final: a 5xx answer, retries that ran out, or a link that died before the mail went out.
 * The first time a mail turns `failed`, the audit trail (and with it the `email.failed`
 * webhook) records it in the same transaction; marking it again only updates the error.
 */
export async function markFailed(db: Queryable, id: string, error: string): Promise<void> {
  const mark = async (tx: Queryable) => {
    const before = await tx.selectFrom('emails').select(['status', 'user_id', 'type', 'invitation_id']).where('id', '=', id).forUpdate().executeTakeFirst();
    if (!before || before.status === 'sent') return;
    await tx.updateTable('emails').set({ status: 'failed', error: error.slice(0, 1000), next_attempt_at: null }).where('id', '=', id).execute();
    if (before.status !== 'failed') {
      await recordAudit(tx, {
        actor: SYSTEM,
        action: 'email.failed',
        userId: before.user_id,
        details: { emailId: id, emailType: before.type, invitationId: before.invitation_id, error: error.slice(0, 300) },
      });
    }
  };
  await (db.isTransaction ? mark(db) : (db as Database).transaction().execute(mark));
}

export interface EmailLogQuery {
  userId?: string | undefined;
  type?: EmailType | undefined;
  status?: EmailStatus | undefined;
  /** The recipient, compared case-insensitively. */
  to?: string | undefined;
  /** created_at >= since */
  since?: string | undefined;
  /** created_at < until */
  until?: string | undefined;
  limit: number;
  /** created_at exactly as Postgres keeps it (microseconds), and the id, of the last row seen. */
  after?: { createdAt: string; id: string } | undefined;
}

/** created_at to the microsecond: a JS Date has only milliseconds and would skip rows. */
const exactCreatedAt = sql<string>`to_char(created_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;
// Sent as text: postgres.js would pass a timestamptz parameter through a JS Date (ms).
const instant = (text: string) => sql<Date>`${text}::text::timestamptz`;

/** Newest first, keyset-paginated on (created_at, id) so pages never skip or repeat rows. */
export async function listEmails(db: Queryable, query: EmailLogQuery): Promise<Array<EmailRow & { cursor_created_at: string }>> {
  let q = db.selectFrom('emails').selectAll().select(exactCreatedAt.as('cursor_created_at'));
  if (query.userId) q = q.where('user_id', '=', query.userId);
  if (query.type) q = q.where('type', '=', query.type);
  if (query.status) q = q.where('status', '=', query.status);
  if (query.to) q = q.where(sql<string>`lower(to_address)`, '=', query.to.trim().toLowerCase());
  if (query.since) q = q.where('created_at', '>=', instant(query.since));
  if (query.until) q = q.where('created_at', '<', instant(query.until));
  if (query.after) {
    const createdAt = instant(query.after.createdAt);
    const { id } = query.after;
    q = q.where((eb) => eb.or([eb('created_at', '<', createdAt), eb.and([eb('created_at', '=', createdAt), eb('id', '<', id)])]));
  }
  return q.orderBy('created_at', 'desc').orderBy('id', 'desc').limit(query.limit).execute();
}

/** Replaces every spelling of the link (raw and HTML-escaped) by the placeholder. */
export function redactLink(body: string, link: string): string {
  const escaped = link.replace(/&/g, '&amp;');
  return body.split(link).join(LINK_PLACEHOLDER).split(escaped).join(LINK_PLACEHOLDER);
}

export function restoreLink(body: string, link: string, html: boolean): string {
  return body.split(LINK_PLACEHOLDER).join(html ? link.replace(/&/g, '&amp;') : link);
}

/**
 * The copies (R7) made within the window: of one mail, and to one recipient (case-insensitive),
 * each with the moment its oldest copy in the window leaves it (for Retry-After). Takes a
 * transaction-scoped lock on the recipient first, so two re-sends to one address in parallel
 * (several API processes, several users sharing an address) count one after the other.
 */
export async function recentCopies(db: Queryable, original: { id: string; to_address: string }, windowMs: number) {
  await sql`select pg_advisory_xact_lock(hashtextextended(${'resend-recipient:' + original.to_address.toLowerCase()}, 0))`.execute(db);
  const window = sql`now() - make_interval(secs => ${windowMs / 1000})`;
  const { rows } = await sql<{ of_mail: string; to_recipient: string; mail_frees_in: number | null; recipient_frees_in: number | null }>`
    select
      count(*) filter (where resent_from = ${original.id}) as of_mail,
      count(*) as to_recipient,
      extract(epoch from min(created_at) filter (where resent_from = ${original.id}) + make_interval(secs => ${windowMs / 1000}) - now())::float8 as mail_frees_in,
      extract(epoch from min(created_at) + make_interval(secs => ${windowMs / 1000}) - now())::float8 as recipient_frees_in
    from emails
    where resent_from is not null and lower(to_address) = ${original.to_address.toLowerCase()} and created_at > ${window}`.execute(db);
  const row = rows[0]!;
  return { ofMail: Number(row.of_mail), toRecipient: Number(row.to_recipient), mailFreesInSeconds: row.mail_frees_in ?? 0, recipientFreesInSeconds: row.recipient_frees_in ?? 0 };
}
