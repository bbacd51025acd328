import { sql, type Kysely } from 'kysely';

/**
 * The email log as staff read it (R13) and exact re-sends (R7): a `retrying` status with the
 * time of the next try, the reset link a reset mail carries, and indexes for the log's
 * filters, each ending in (created_at, id) so keyset paging stays an index scan.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`alter table emails drop constraint emails_status_check`.execute(db);
  await sql`alter table emails add constraint emails_status_check check (status in ('queued', 'retrying', 'sent', 'failed'))`.execute(db);
  await db.schema
    .alterTable('emails')
    .addColumn('next_attempt_at', 'timestamptz')
    .addColumn('password_reset_id', 'uuid', (c) => c.references('password_resets.id'))
    .execute();
  // Reset mails logged before this column existed are keyed "password_reset:<reset id>".
  await sql`
    update emails e set password_reset_id = p.id
    from password_resets p
    where e.type = 'password_reset' and e.idempotency_key = 'password_reset:' || p.id::text
  `.execute(db);

  await sql`drop index emails_user_created`.execute(db);
  await sql`create index emails_user_created on emails (user_id, created_at desc, id desc)`.execute(db);
  await sql`create index emails_status_created on emails (status, created_at desc, id desc)`.execute(db);
  await sql`create index emails_type_created on emails (type, created_at desc, id desc)`.execute(db);
  await sql`create index emails_to_created on emails (lower(to_address), created_at desc, id desc)`.execute(db);
  await sql`create index emails_resent_from on emails (resent_from) where resent_from is not null`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const index of ['emails_resent_from', 'emails_to_created', 'emails_type_created', 'emails_status_created', 'emails_user_created']) {
    await sql`drop index ${sql.ref(index)}`.execute(db);
  }
  await sql`create index emails_user_created on emails (user_id, created_at desc)`.execute(db);
  await db.schema.alterTable('emails').dropColumn('password_reset_id').dropColumn('next_attempt_at').execute();
  await sql`update emails set status = 'queued' where status = 'retrying'`.execute(db);
  await sql`alter table emails drop constraint emails_status_check`.execute(db);
  await sql`alter table emails add constraint emails_status_check check (status in ('queued', 'sent', 'failed'))`.execute(db);
}
