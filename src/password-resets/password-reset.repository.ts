import { sql } from 'kysely';
import type { Queryable } from '../db/database.js';
import type { PasswordResetRow } from '../db/schema.js';

export async function findResetByTokenHash(db: Queryable, tokenHash: string): Promise<PasswordResetRow | undefined> {
  return db.selectFrom('password_resets').selectAll().where('token_hash', '=', tokenHash).executeTakeFirst();
}

/** Kills every usable reset link of the user (newer request, address change, deactivation). */
export async function revokeOpenResets(db: Queryable, userId: string, reason: string): Promise<number> {
  const result = await db
    .updateTable('password_resets')
    .set({ revoked_at: sql<Date>`now()`, revoked_reason: reason })
    .where('user_id', '=', userId)
    .where('consumed_at', 'is', null)
    .where('revoked_at', 'is', null)
    .executeTakeFirst();
  return Number(result.numUpdatedRows);
}

/** Single use, with a lifetime: one conditional update, never check-then-act (security.md 2). */
export async function consumeReset(db: Queryable, resetId: string): Promise<PasswordResetRow | undefined> {
  return db
    .updateTable('password_resets')
    .set({ consumed_at: sql<Date>`now()` })
    .where('id', '=', resetId)
    .where('consumed_at', 'is', null)
    .where('revoked_at', 'is', null)
    .where('expires_at', '>', sql<Date>`now()`)
    .returningAll()
    .executeTakeFirst();
}
