import { sql, type Kysely } from 'kysely';

/**
 * The re-send limits (issue 15.3) count a mail's copies and a recipient's copies within a
 * window, inside the transaction that logs a new copy: two partial indexes keep both counts
 * to the copies themselves, however large the log grows.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`create index emails_copies_of on emails (resent_from, created_at) where resent_from is not null`.execute(db);
  await sql`create index emails_copies_to on emails (lower(to_address), created_at) where resent_from is not null`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop index if exists emails_copies_to`.execute(db);
  await sql`drop index if exists emails_copies_of`.execute(db);
}
