import { sql, type Kysely } from 'kysely';

/**
 * New outbox rows wake the webhook dispatcher (issue 19.3): a NOTIFY on `webhook_events`,
 * sent at commit, once per inserting statement (Postgres folds equal notifications of one
 * transaction into one). Workers LISTEN and signal the dispatcher, which otherwise sleeps on
 * its durable timer; a notification lost while a worker reconnects only costs that timer.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`create function webhook_events_notify() returns trigger language plpgsql as $$
    begin
      perform pg_notify('webhook_events', '');
      return null;
    end
  $$`.execute(db);
  await sql`create trigger webhook_events_notify after insert on webhook_events for each statement execute function webhook_events_notify()`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop trigger webhook_events_notify on webhook_events`.execute(db);
  await sql`drop function webhook_events_notify()`.execute(db);
}
