import { sql, type Kysely } from 'kysely';

/**
 * Staff console sessions (issue 16), in the database so every API process sees the same ones.
 * - Only a SHA-256 of the cookie's token is kept: a leaked table opens no session.
 * - `password_fingerprint` is a digest of the password hash the session began with; a session
 *   counts only while the user's hash still has it, so a password change ends every session.
 * - `audit_events.via` learns `console`: what staff do there is recorded with them as actor.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('console_sessions')
    .addColumn('token_hash', 'text', (c) => c.primaryKey())
    .addColumn('user_id', 'uuid', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('password_fingerprint', 'text', (c) => c.notNull())
    .addColumn('csrf_token', 'text', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('last_seen_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
  await db.schema.createIndex('console_sessions_user').on('console_sessions').column('user_id').execute();
  await sql`alter table audit_events drop constraint audit_events_via_check`.execute(db);
  await sql`alter table audit_events add constraint audit_events_via_check check (via in ('bootstrap', 'api_key', 'console'))`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`alter table audit_events drop constraint audit_events_via_check`.execute(db);
  await sql`alter table audit_events add constraint audit_events_via_check check (via in ('bootstrap', 'api_key'))`.execute(db);
  await db.schema.dropTable('console_sessions').execute();
}
