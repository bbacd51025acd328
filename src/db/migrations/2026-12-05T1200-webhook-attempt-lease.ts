import { sql, type Kysely } from 'kysely';

/**
 * At most one webhook attempt per lane (endpoint and user) is in flight (issue 14.5). An
 * attempt takes a lease on its delivery row before it connects; the lease outlasts the
 * attempt's total deadline (WEBHOOK_TIMEOUT), so an attempt Temporal retried while the first
 * one still runs (a timed-out activity, a worker cut off from the server) waits it out instead
 * of sending a second copy at the same time. The result is written only under the lease.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .alterTable('webhook_deliveries')
    .addColumn('attempt_token', 'uuid')
    .addColumn('attempt_until', 'timestamptz')
    .execute();
  await sql`alter table webhook_deliveries add constraint webhook_deliveries_attempt_lease check ((attempt_token is null) = (attempt_until is null))`.execute(db);
  await sql`create index webhook_deliveries_in_flight on webhook_deliveries (endpoint_id, user_id) where attempt_until is not null`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('webhook_deliveries').dropColumn('attempt_token').dropColumn('attempt_until').execute();
}
