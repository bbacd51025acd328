import { sql, type Kysely } from 'kysely';

/**
 * Editable mail templates (R6): every change is a new row, nothing is overwritten. A row with
 * neither subject nor body is a return to the built-in default. A logged mail names the
 * version it was rendered from (null: the built-in).
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('email_template_versions')
    .addColumn('type', 'text', (c) => c.notNull())
    .addColumn('locale', 'text', (c) => c.notNull())
    .addColumn('version', 'integer', (c) => c.notNull().check(sql`version > 0`))
    .addColumn('subject', 'text')
    .addColumn('body', 'text')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('created_by', 'text')
    .addPrimaryKeyConstraint('email_template_versions_pkey', ['type', 'locale', 'version'])
    .addCheckConstraint('email_template_versions_content', sql`(subject is null) = (body is null)`)
    .execute();
  await db.schema.alterTable('emails').addColumn('template_version', 'integer').execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('emails').dropColumn('template_version').execute();
  await db.schema.dropTable('email_template_versions').execute();
}
