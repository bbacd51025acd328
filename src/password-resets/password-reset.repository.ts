import { sql } from 'kysely';
import type { Queryable } from '../db/database.js';
import type { PasswordResetRow, PasswordResetsTable } from '../db/schema.js';
import type { Insertable } from 'kysely';

export async function findResetByTokenHash(db: Queryable, tokenHash: string): Promise<PasswordResetRow | undefined> {
  return db.selectFrom('password_resets').selectAll().where('token_hash', '=', tokenHash).executeTakeFirst();
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

export async function insertReset(tx: Queryable, row: Insertable<PasswordResetsTable>): Promise<void> {
  await tx.insertInto('password_resets').values(row).execute();
}
