import { sql, type Kysely } from 'kysely';

/**
 * The ids of the EMAIL_ENCRYPTION_KEY keys some process has listed (never the keys). A key may
 * seal only once it is here, i.e. once a process listed it *after* the sealing key (rotation
 * step 1): a mistyped first key is then refused at start instead of sealing values that no
 * other process can open (issue 19.2, security.md 26a).
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('email_encryption_keys')
    .addColumn('key_id', 'text', (c) => c.primaryKey())
    .addColumn('first_listed_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('email_encryption_keys').execute();
}
