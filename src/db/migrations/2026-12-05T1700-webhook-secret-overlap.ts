import { sql, type Kysely } from 'kysely';

/**
 * Secret rotation with an overlap (issue 17.5): the secret a rotation replaced keeps signing
 * beside the new one until `previous_secret_expires_at`, so a receiver can switch at its own
 * pace (Standard Webhooks sends several signatures, space-separated, and a receiver accepts
 * any one it can verify). Both columns or neither: the database keeps them together.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`alter table webhook_endpoints
    add column previous_secret_ciphertext text,
    add column previous_secret_expires_at timestamptz,
    add constraint webhook_endpoints_previous_secret_whole check ((previous_secret_ciphertext is null) = (previous_secret_expires_at is null))`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`alter table webhook_endpoints drop constraint webhook_endpoints_previous_secret_whole,
    drop column previous_secret_ciphertext, drop column previous_secret_expires_at`.execute(db);
}
