import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('password_resets')
    .addColumn('id', 'uuid', (c) => c.primaryKey())
    .addColumn('user_id', 'uuid', (c) => c.notNull().references('users.id'))
    .addColumn('token_hash', 'text', (c) => c.unique())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('expires_at', 'timestamptz', (c) => c.notNull())
    .addColumn('consumed_at', 'timestamptz')
    // Set when a newer reset, an address change or a deactivation makes this link useless.
    .addColumn('revoked_at', 'timestamptz')
    .addColumn('revoked_reason', 'text')
    .execute();
  // A newer reset makes older ones useless: at most one usable reset per user.
  await sql`create unique index password_resets_one_open_per_user on password_resets (user_id) where consumed_at is null and revoked_at is null`.execute(db);

  await db.schema
    .alterTable('users')
    .addColumn('reactivated_at', 'timestamptz')
    .addColumn('reactivation_deadline', 'timestamptz')
    .execute();
  // R10: staff may reactivate an invitee who never set a password; the reset comes after.
  await db.schema.alterTable('users').dropConstraint('users_active_has_password').execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('users').dropColumn('reactivated_at').dropColumn('reactivation_deadline').execute();
  await db.schema.dropTable('password_resets').execute();
}
