import { sql } from 'kysely';
import type { Queryable } from '../db/database.js';
import type { EmailRow } from '../db/schema.js';

/** Why a mail's personal link no longer works; a mail carrying it must not go out (issue 6 #7). */
export type DeadLinkReason = 'accepted' | 'revoked' | 'overwritten' | 'expired' | 'deleted' | 'used' | 'superseded' | 'gone';

export type LinkState = { alive: true } | { alive: false; reason: DeadLinkReason };

/**
 * Whether the link a logged mail carries still works, judged by the database's clock (the
 * same `now()` that accepting a link is checked against), so "expired" means the same here
 * as at the accept endpoint.
 */
export async function findLinkState(db: Queryable, email: Pick<EmailRow, 'invitation_id' | 'password_reset_id'>): Promise<LinkState> {
  if (email.invitation_id) {
    const row = await db
      .selectFrom('invitations as i')
      .innerJoin('users as u', 'u.id', 'i.user_id')
      .select(['i.status', sql<boolean>`i.expires_at <= now()`.as('past'), sql<boolean>`u.deleted_at is not null`.as('deleted'), 'u.deactivation_reason'])
      .where('i.id', '=', email.invitation_id)
      .executeTakeFirst();
    if (!row) return dead('gone');
    if (row.deleted) return dead('deleted');
    if (row.status === 'revoked' && row.deactivation_reason === 'overwritten') return dead('overwritten');
    if (row.status === 'accepted' || row.status === 'revoked') return dead(row.status);
    if (row.status === 'expired' || row.past) return dead('expired');
    return { alive: true };
  }
  if (email.password_reset_id) {
    const row = await db
      .selectFrom('password_resets')
      .select(['consumed_at', 'revoked_at', 'revoked_reason', sql<boolean>`expires_at <= now()`.as('past')])
      .where('id', '=', email.password_reset_id)
      .executeTakeFirst();
    if (!row) return dead('gone');
    if (row.consumed_at) return dead('used');
    if (row.revoked_at) return dead(row.revoked_reason === 'superseded' ? 'superseded' : row.revoked_reason === 'deleted' ? 'deleted' : 'revoked');
    if (row.past) return dead('expired');
    return { alive: true };
  }
  return { alive: true };
}

const dead = (reason: DeadLinkReason): LinkState => ({ alive: false, reason });
