import { sql, type Kysely } from 'kysely';

/**
 * The platform's own small JSON object about a user (its tenant, its role in the platform's
 * terms), given with the invitation (issue 17.3). The API checks the shape and the 2 KB limit;
 * the database holds the bound (jsonb's text form spaces it out, hence 4 KB) and the object type.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .alterTable('users')
    .addColumn('metadata', 'jsonb', (c) => c.notNull().defaultTo(sql`'{}'::jsonb`))
    .execute();
  await db.schema
    .alterTable('users')
    .addCheckConstraint('users_metadata_small_object', sql`jsonb_typeof(metadata) = 'object' and octet_length(metadata::text) <= 4096`)
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('users').dropColumn('metadata').execute();
}
