import { sql, type Kysely } from 'kysely';

/**
 * Signed webhooks to the platform. The outbox (webhook_events) is written in the same
 * transaction as the change it reports, numbered per user by a counter row whose lock is held
 * until commit, so a user's sequence numbers follow commit order with no gaps. Deliveries are
 * one row per (endpoint, event) attempt series; a redelivery is a new row pointing at the first.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('webhook_endpoints')
    .addColumn('id', 'uuid', (c) => c.primaryKey())
    .addColumn('url', 'text', (c) => c.notNull())
    .addColumn('description', 'text')
    .addColumn('event_types', sql`text[]`, (c) => c.notNull().check(sql`cardinality(event_types) > 0`))
    .addColumn('secret_ciphertext', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull().defaultTo('enabled').check(sql`status in ('enabled', 'disabled')`))
    // Start of the current run of failed attempts; null after any success.
    .addColumn('failing_since', 'timestamptz')
    .addColumn('disabled_at', 'timestamptz')
    .addColumn('disabled_reason', 'text')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('created_by', 'text')
    .addCheckConstraint('webhook_endpoints_disabled', sql`(status = 'disabled') = (disabled_at is not null)`)
    .execute();

  await db.schema
    .createTable('webhook_user_sequences')
    // No foreign keys to users here or in webhook_events, like audit_events: a user removed
    // even by hand keeps its numbering, and its events (user.deleted among them) still go out.
    .addColumn('user_id', 'uuid', (c) => c.primaryKey())
    .addColumn('last_sequence', 'bigint', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('webhook_events')
    .addColumn('id', 'uuid', (c) => c.primaryKey())
    // Insertion order; for one user it is also sequence order (the counter row serialises them).
    .addColumn('position', 'bigserial', (c) => c.notNull().unique())
    .addColumn('user_id', 'uuid', (c) => c.notNull())
    .addColumn('sequence', 'bigint', (c) => c.notNull())
    .addColumn('type', 'text', (c) => c.notNull())
    .addColumn('data', 'jsonb', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    // Null until fanned out into deliveries; the dispatcher picks up exactly these.
    .addColumn('dispatched_at', 'timestamptz')
    .addUniqueConstraint('webhook_events_user_sequence', ['user_id', 'sequence'])
    .execute();
  await sql`create index webhook_events_undispatched on webhook_events (position) where dispatched_at is null`.execute(db);

  await db.schema
    .createTable('webhook_deliveries')
    .addColumn('id', 'uuid', (c) => c.primaryKey())
    // A lane (endpoint, user) sends its deliveries in this order, one at a time.
    .addColumn('position', 'bigserial', (c) => c.notNull().unique())
    .addColumn('endpoint_id', 'uuid', (c) => c.notNull().references('webhook_endpoints.id').onDelete('cascade'))
    .addColumn('event_id', 'uuid', (c) => c.notNull().references('webhook_events.id'))
    .addColumn('user_id', 'uuid', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull().defaultTo('pending').check(sql`status in ('pending', 'succeeded', 'failed')`))
    .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    // Set once the dispatcher has woken the lane's workflow for this row.
    .addColumn('handed_over_at', 'timestamptz')
    .addColumn('first_attempt_at', 'timestamptz')
    .addColumn('last_attempt_at', 'timestamptz')
    .addColumn('next_attempt_at', 'timestamptz')
    .addColumn('last_response_status', 'integer')
    .addColumn('last_response_body', 'text')
    .addColumn('last_error', 'text')
    .addColumn('delivered_at', 'timestamptz')
    .addColumn('redelivery_of', 'uuid', (c) => c.references('webhook_deliveries.id').onDelete('cascade'))
    .addColumn('requested_by', 'text')
    .execute();
  // One first delivery per endpoint and event, however often fan-out is retried.
  await sql`create unique index webhook_deliveries_first on webhook_deliveries (endpoint_id, event_id) where redelivery_of is null`.execute(db);
  await sql`create index webhook_deliveries_lane on webhook_deliveries (endpoint_id, user_id, position) where status = 'pending'`.execute(db);
  await sql`create index webhook_deliveries_waiting on webhook_deliveries (position) where status = 'pending' and handed_over_at is null`.execute(db);
  await sql`create index webhook_deliveries_log on webhook_deliveries (endpoint_id, created_at desc, id desc)`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('webhook_deliveries').execute();
  await db.schema.dropTable('webhook_events').execute();
  await db.schema.dropTable('webhook_user_sequences').execute();
  await db.schema.dropTable('webhook_endpoints').execute();
}
