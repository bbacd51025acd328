import { sql } from 'kysely';
import type { Queryable } from '../db/database.js';
import type { EmailTemplateVersionRow, Locale } from '../db/schema.js';
import type { TemplateType } from './variables.js';

/** The newest version of a template, or undefined when it was never changed. */
export async function currentTemplateVersion(db: Queryable, type: TemplateType, locale: Locale): Promise<EmailTemplateVersionRow | undefined> {
  return (await listTemplateVersions(db, type, locale, 1))[0];
}

/** Newest first. */
export async function listTemplateVersions(db: Queryable, type: TemplateType, locale: Locale, limit: number): Promise<EmailTemplateVersionRow[]> {
  return db
    .selectFrom('email_template_versions')
    .selectAll()
    .where('type', '=', type)
    .where('locale', '=', locale)
    .orderBy('version', 'desc')
    .limit(limit)
    .execute();
}

/**
 * Appends a version (subject and body null: back to the built-in). Two staff saving at once
 * queue on a transaction-scoped lock per template, so each gets its own next number.
 */
export async function appendTemplateVersion(
  tx: Queryable,
  row: { type: TemplateType; locale: Locale; subject: string | null; body: string | null; createdBy: string | null },
): Promise<EmailTemplateVersionRow> {
  await sql`select pg_advisory_xact_lock(hashtext(${`email_template:${row.type}:${row.locale}`}))`.execute(tx);
  const latest = await currentTemplateVersion(tx, row.type, row.locale);
  return tx
    .insertInto('email_template_versions')
    .values({
      type: row.type,
      locale: row.locale,
      version: (latest?.version ?? 0) + 1,
      subject: row.subject,
      body: row.body,
      created_by: row.createdBy,
    })
    .returningAll()
    .executeTakeFirstOrThrow();
}
