import { sql } from 'kysely';
import type { Queryable } from '../db/database.js';
import type { ApiKeyRow } from '../db/schema.js';

export async function insertApiKey(
  db: Queryable,
  row: { id: string; name: string; scopes: string[]; key_hash: string; prefix: string; created_by: string | null },
): Promise<ApiKeyRow> {
  return db.insertInto('api_keys').values(row).returningAll().executeTakeFirstOrThrow();
}

/** Newest first; revoked keys stay listed (the audit trail names them). */
export async function listApiKeyRows(db: Queryable): Promise<ApiKeyRow[]> {
  return db.selectFrom('api_keys').selectAll().orderBy('created_at', 'desc').orderBy('id', 'desc').execute();
}

export async function findApiKeyById(db: Queryable, id: string): Promise<ApiKeyRow | undefined> {
  return db.selectFrom('api_keys').selectAll().where('id', '=', id).executeTakeFirst();
}

/** Keys are found by the hash of what was presented: the key itself is never stored. */
export async function findApiKeyByHash(db: Queryable, keyHash: string): Promise<ApiKeyRow | undefined> {
  return db.selectFrom('api_keys').selectAll().where('key_hash', '=', keyHash).executeTakeFirst();
}

/**
 * Records a use at most once per `throttleSeconds`: a busy integration would otherwise write
 * the same row on every request. Conditional, so parallel requests write it once.
 */
export async function touchApiKey(db: Queryable, id: string, throttleSeconds: number): Promise<void> {
  await db
    .updateTable('api_keys')
    .set({ last_used_at: sql`now()` })
    .where('id', '=', id)
    .where((eb) => eb.or([eb('last_used_at', 'is', null), eb('last_used_at', '<', sql<Date>`now() - make_interval(secs => ${throttleSeconds})`)]))
    .execute();
}

/** Revokes once: null when the key was revoked already. */
export async function revokeApiKeyRow(db: Queryable, id: string, revokedBy: string | null): Promise<ApiKeyRow | undefined> {
  return db
    .updateTable('api_keys')
    .set({ revoked_at: sql`now()`, revoked_by: revokedBy })
    .where('id', '=', id)
    .where('revoked_at', 'is', null)
    .returningAll()
    .executeTakeFirst();
}
