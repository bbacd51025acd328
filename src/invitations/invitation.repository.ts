import { sql } from 'kysely';
import type { Queryable } from '../db/database.js';
import type { InvitationRow, UserRow } from '../db/schema.js';
import { revokeOpenResets } from '../passwords/password-reset.repository.js';
import { lockUser } from '../users/user.repository.js';

export async function findInvitationById(db: Queryable, id: string): Promise<InvitationRow | undefined> {
  return db.selectFrom('invitations').selectAll().where('id', '=', id).executeTakeFirst();
}

export async function findInvitationByTokenHash(db: Queryable, tokenHash: string): Promise<InvitationRow | undefined> {
  return db.selectFrom('invitations').selectAll().where('token_hash', '=', tokenHash).executeTakeFirst();
}

export async function latestInvitationForUser(db: Queryable, userId: string): Promise<InvitationRow | undefined> {
  return db
    .selectFrom('invitations')
    .selectAll()
    .where('user_id', '=', userId)
    .orderBy('created_at', 'desc')
    .limit(1)
    .executeTakeFirst();
}

/**
 * Consumes the invitation and activates its user in one step (R4). The conditions in the
 * WHERE clauses are the single-use and lifetime checks: two concurrent accepts, or an
 * accept racing the expiry, cannot both succeed (security.md 2, 21).
 */
export async function consumeInvitation(
  tx: Queryable,
  target: Pick<InvitationRow, 'id' | 'user_id'>,
  passwordHash: string,
): Promise<{ invitation: InvitationRow; user: UserRow } | undefined> {
  await lockUser(tx, target.user_id);
  const invitation = await tx
    .updateTable('invitations')
    .set({ status: 'accepted', accepted_at: sql<Date>`now()` })
    .where('id', '=', target.id)
    .where('status', '=', 'pending')
    .where('expires_at', '>', sql<Date>`now()`)
    .returningAll()
    .executeTakeFirst();
  if (!invitation) return undefined;
  const user = await tx
    .updateTable('users')
    .set({
      status: 'active',
      password_hash: passwordHash,
      activated_at: sql<Date>`now()`,
      // The link reached the invitee's mailbox, so the address counts as confirmed (R4).
      email_verified_at: sql<Date>`now()`,
      deactivated_at: null,
      deactivation_reason: null,
      updated_at: sql<Date>`now()`,
    })
    .where('id', '=', invitation.user_id)
    .where('status', '=', 'invited')
    .where('deleted_at', 'is', null)
    .returningAll()
    .executeTakeFirst();
  // Throwing rolls the transaction back: the invitation must not stay accepted without its user.
  if (!user) throw new LinkNoLongerUsable();
  return { invitation, user };
}

export class LinkNoLongerUsable extends Error {}

async function lockUserOfInvitation(tx: Queryable, invitationId: string): Promise<void> {
  const row = await tx.selectFrom('invitations').select('user_id').where('id', '=', invitationId).executeTakeFirst();
  if (row) await lockUser(tx, row.user_id);
}

export type ExpiryOutcome = 'expired' | 'accepted' | 'revoked';

/**
 * The timer fired: expire the invitation unless something else already ended it. Returns
 * what the durable record says, which is what the workflow reports (R8, security.md 21).
 */
export async function expireInvitation(tx: Queryable, invitationId: string): Promise<ExpiryOutcome> {
  await lockUserOfInvitation(tx, invitationId);
  const expired = await tx
    .updateTable('invitations')
    .set({ status: 'expired', expired_at: sql<Date>`now()` })
    .where('id', '=', invitationId)
    .where('status', '=', 'pending')
    .returning(['user_id'])
    .executeTakeFirst();
  if (expired) {
    await tx
      .updateTable('users')
      .set({
        status: 'inactive',
        deactivated_at: sql<Date>`now()`,
        deactivation_reason: 'invitation_expired',
        updated_at: sql<Date>`now()`,
      })
      .where('id', '=', expired.user_id)
      .where('status', '=', 'invited')
      .execute();
    return 'expired';
  }
  const current = await tx.selectFrom('invitations').select('status').where('id', '=', invitationId).executeTakeFirstOrThrow();
  // Not pending any more (the update above found nothing): whatever ended it first, stands.
  return current.status as ExpiryOutcome;
}

/** Staff withdraw a pending invitation; the link stops working at once. */
export async function revokeInvitation(tx: Queryable, invitationId: string): Promise<InvitationRow | undefined> {
  await lockUserOfInvitation(tx, invitationId);
  const revoked = await tx
    .updateTable('invitations')
    .set({ status: 'revoked', revoked_at: sql<Date>`now()` })
    .where('id', '=', invitationId)
    .where('status', '=', 'pending')
    .returningAll()
    .executeTakeFirst();
  if (revoked) {
    await tx
      .updateTable('users')
      .set({
        status: 'inactive',
        deactivated_at: sql<Date>`now()`,
        deactivation_reason: 'invitation_revoked',
        updated_at: sql<Date>`now()`,
      })
      .where('id', '=', revoked.user_id)
      .where('status', '=', 'invited')
      .execute();
    // Reset links would otherwise be a way around the revocation (security.md 14).
    await revokeOpenResets(tx, revoked.user_id, 'invitation_revoked');
  }
  return revoked;
}
