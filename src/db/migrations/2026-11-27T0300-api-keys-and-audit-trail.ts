import { sql, type Kysely } from 'kysely';

/**
 * Named API keys with scopes, and an audit trail that says which key acted beside who.
 * - `api_keys` keeps a SHA-256 of each key, never the key; a key is revoked, never deleted,
 *   so the trail can always name the key an old event came through.
 * - `audit_events` is append-only, enforced here: a trigger refuses UPDATE, DELETE and
 *   TRUNCATE for every role, the service's included. Deleting a user is a soft delete, and
 *   `audit_events.user_id` has no foreign key on purpose, so nothing a user's deletion does
 *   can reach the trail.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('api_keys')
    .addColumn('id', 'uuid', (c) => c.primaryKey())
    .addColumn('name', 'text', (c) => c.notNull().check(sql`length(name) between 1 and 100`))
    .addColumn('scopes', sql`text[]`, (c) => c.notNull())
    .addColumn('key_hash', 'text', (c) => c.notNull().unique())
    .addColumn('prefix', 'text', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('created_by', 'text')
    .addColumn('last_used_at', 'timestamptz')
    .addColumn('revoked_at', 'timestamptz')
    .addColumn('revoked_by', 'text')
    .addCheckConstraint(
      'api_keys_scopes',
      sql`cardinality(scopes) > 0 and scopes <@ array['invitations:write','users:read','users:write','emails:write','templates:write','webhooks:write','audit:read']::text[]`,
    )
    .execute();

  await db.schema.alterTable('audit_events').addColumn('via', 'text', (c) => c.check(sql`via in ('bootstrap', 'api_key')`)).execute();
  await db.schema.alterTable('audit_events').addColumn('api_key_id', 'uuid', (c) => c.references('api_keys.id')).execute();
  await sql`alter table audit_events add constraint audit_events_via_key check ((via is not distinct from 'api_key') = (api_key_id is not null))`.execute(db);
  await sql`create index audit_events_at on audit_events (at desc, id desc)`.execute(db);
  await sql`create index audit_events_actor on audit_events (actor, at desc)`.execute(db);

  // Earlier rows were written as a JSON string inside jsonb (the details serialised twice); the
  // last change the trail ever allows turns them into the objects they always meant.
  await sql`update audit_events set details = (details #>> '{}')::jsonb where jsonb_typeof(details) = 'string'`.execute(db);
  await sql`
    create function audit_events_append_only() returns trigger language plpgsql as $$
    begin
      raise exception 'audit_events is append-only: % is not allowed', tg_op using errcode = '42501';
    end
    $$`.execute(db);
  await sql`create trigger audit_events_no_change before update or delete on audit_events for each row execute function audit_events_append_only()`.execute(db);
  await sql`create trigger audit_events_no_truncate before truncate on audit_events for each statement execute function audit_events_append_only()`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop trigger audit_events_no_truncate on audit_events`.execute(db);
  await sql`drop trigger audit_events_no_change on audit_events`.execute(db);
  await sql`drop function audit_events_append_only()`.execute(db);
  await sql`drop index audit_events_actor`.execute(db);
  await sql`drop index audit_events_at`.execute(db);
  await sql`alter table audit_events drop constraint audit_events_via_key`.execute(db);
  await db.schema.alterTable('audit_events').dropColumn('api_key_id').execute();
  await db.schema.alterTable('audit_events').dropColumn('via').execute();
  await db.schema.dropTable('api_keys').execute();
}
