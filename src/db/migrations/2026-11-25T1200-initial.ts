import { sql, type Kysely } from 'kysely';

// Migrations never import application code and are never edited once landed.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('users')
    .addColumn('id', 'uuid', (c) => c.primaryKey())
    .addColumn('username', 'text', (c) => c.notNull())
    .addColumn('username_key', 'text', (c) => c.notNull())
    .addColumn('email', 'text', (c) => c.notNull())
    .addColumn('email_key', 'text', (c) => c.notNull())
    .addColumn('user_type', 'text', (c) => c.notNull())
    .addColumn('is_staff', 'boolean', (c) => c.notNull().defaultTo(false))
    .addColumn('permissions', sql`text[]`, (c) => c.notNull().defaultTo(sql`'{}'::text[]`))
    .addColumn('locale', 'text', (c) => c.notNull().check(sql`locale in ('de', 'en')`))
    .addColumn('status', 'text', (c) => c.notNull().check(sql`status in ('invited', 'active', 'inactive')`))
    .addColumn('password_hash', 'text')
    .addColumn('email_verified_at', 'timestamptz')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('activated_at', 'timestamptz')
    .addColumn('last_login_at', 'timestamptz')
    .addColumn('deactivated_at', 'timestamptz')
    .addColumn('deactivation_reason', 'text')
    .addColumn('deleted_at', 'timestamptz')
    .addColumn('created_by', 'text')
    // An active user has a password: activation without one would be a way in for nobody.
    .addCheckConstraint('users_active_has_password', sql`status <> 'active' or password_hash is not null`)
    .execute();

  // Uniqueness of the canonical forms is the database's job (spec: case-insensitive,
  // after Unicode normalisation), among users that are not deleted (R11 frees them at once).
  await sql`create unique index users_username_key_live on users (username_key) where deleted_at is null`.execute(db);
  await sql`create unique index users_email_key_live on users (email_key) where deleted_at is null`.execute(db);
  await sql`create index users_created_at_id on users (created_at desc, id desc)`.execute(db);

  await db.schema
    .createTable('invitations')
    .addColumn('id', 'uuid', (c) => c.primaryKey())
    .addColumn('user_id', 'uuid', (c) => c.notNull().references('users.id'))
    .addColumn('workflow_id', 'text', (c) => c.notNull())
    .addColumn('token_hash', 'text', (c) => c.unique())
    .addColumn('status', 'text', (c) =>
      c.notNull().check(sql`status in ('pending', 'accepted', 'expired', 'revoked')`),
    )
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('expires_at', 'timestamptz', (c) => c.notNull())
    .addColumn('accepted_at', 'timestamptz')
    .addColumn('expired_at', 'timestamptz')
    .addColumn('revoked_at', 'timestamptz')
    .addColumn('created_by', 'text')
    .execute();
  // At most one open invitation per user: the state machine lives in one row.
  await sql`create unique index invitations_one_pending_per_user on invitations (user_id) where status = 'pending'`.execute(db);
  await sql`create index invitations_user_id on invitations (user_id, created_at desc)`.execute(db);

  await db.schema
    .createTable('emails')
    .addColumn('id', 'uuid', (c) => c.primaryKey())
    .addColumn('idempotency_key', 'text', (c) => c.notNull().unique())
    .addColumn('user_id', 'uuid', (c) => c.notNull().references('users.id'))
    .addColumn('invitation_id', 'uuid', (c) => c.references('invitations.id'))
    .addColumn('type', 'text', (c) => c.notNull())
    .addColumn('locale', 'text', (c) => c.notNull())
    .addColumn('to_address', 'text', (c) => c.notNull())
    .addColumn('subject', 'text', (c) => c.notNull())
    .addColumn('html_redacted', 'text', (c) => c.notNull())
    .addColumn('text_redacted', 'text', (c) => c.notNull())
    .addColumn('link_ciphertext', 'text')
    .addColumn('status', 'text', (c) => c.notNull().check(sql`status in ('queued', 'sent', 'failed')`))
    .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('last_attempt_at', 'timestamptz')
    .addColumn('sent_at', 'timestamptz')
    .addColumn('error', 'text')
    .addColumn('message_id', 'text')
    .addColumn('resent_from', 'uuid', (c) => c.references('emails.id'))
    .execute();
  await sql`create index emails_user_created on emails (user_id, created_at desc)`.execute(db);
  await sql`create index emails_created on emails (created_at desc, id desc)`.execute(db);

  await db.schema
    .createTable('audit_events')
    .addColumn('id', 'bigserial', (c) => c.primaryKey())
    .addColumn('at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('actor', 'text')
    .addColumn('action', 'text', (c) => c.notNull())
    .addColumn('user_id', 'uuid')
    .addColumn('details', 'jsonb', (c) => c.notNull().defaultTo(sql`'{}'::jsonb`))
    .execute();
  await sql`create index audit_events_user on audit_events (user_id, at desc)`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('audit_events').execute();
  await db.schema.dropTable('emails').execute();
  await db.schema.dropTable('invitations').execute();
  await db.schema.dropTable('users').execute();
}
