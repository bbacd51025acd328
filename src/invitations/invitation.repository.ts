import { sql, type Insertable } from 'kysely';
import type { Queryable } from '../db/database.js';
import type { InvitationRow, InvitationsTable, UserRow } from '../db/schema.js';
import { activateInvitee, deactivateInvitee, lockAccount, type DeactivationReason } from '../users/account-status.js';

export async function findInvitationById(db: Queryable, id: string): Promise<InvitationRow | undefined> {
  return db.selectFrom('invitations').selectAll().where('id', '=', id).executeTakeFirst();
}

export async function findInvitationByTokenHash(db: Queryable, tokenHash: string): Promise<InvitationRow | undefined> {
  return db.selectFrom('invitations').selectAll().where('token_hash', '=', tokenHash).executeTakeFirst();
}

export async function insertInvitation(tx: Queryable, row: Insertable<InvitationsTable>): Promise<InvitationRow> {
  return tx.insertInto('invitations').values(row).returningAll().executeTakeFirstOrThrow();
}

/**
 * Binds the minted link (its hash only) and the address it is mailed to, while the invitation
 * is still pending; false when it is not any more (the same statement checks and writes).
 */
export async function setPendingInvitationLink(tx: Queryable, invitationId: string, tokenHash: string, emailKey: string): Promise<boolean> {
  const row = await tx
    .updateTable('invitations')
    .set({ token_hash: tokenHash, link_email_key: emailKey })
    .where('id', '=', invitationId)
    .where('status', '=', 'pending')
    .returning('id')
    .executeTakeFirst();
  return row !== undefined;
}

/** What the workflow's steps need of an invitation. */
export type InvitationSummary = Pick<InvitationRow, 'id' | 'user_id' | 'status' | 'expires_at'>;

/** The invitation with its user (deleted or not), in one read; undefined when either is gone. */
export async function findInvitationWithUser(db: Queryable, invitationId: string): Promise<{ invitation: InvitationSummary; user: UserRow } | undefined> {
  const row = await db
    .selectFrom('invitations')
    .innerJoin('users', 'users.id', 'invitations.user_id')
    .selectAll('users')
    .select(['invitations.status as invitation_status', 'invitations.expires_at as invitation_expires_at'])
    .where('invitations.id', '=', invitationId)
    .executeTakeFirst();
  if (!row) return undefined;
  const { invitation_status: status, invitation_expires_at: expires_at, ...user } = row;
  return { invitation: { id: invitationId, user_id: user.id, status, expires_at }, user };
}

/** latestInvitationForUser for a page of users at once: one query, not one per row. */
export async function latestInvitationsForUsers(db: Queryable, userIds: string[]): Promise<InvitationRow[]> {
  if (userIds.length === 0) return [];
  return db
    .selectFrom('invitations')
    .selectAll()
    .where('user_id', 'in', userIds)
    .distinctOn('user_id')
    .orderBy('user_id')
    .orderBy('created_at', 'desc')
    .execute();
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
  await lockAccount(tx, target.user_id);
  const invitation = await tx
    .updateTable('invitations')
    .set({ status: 'accepted', accepted_at: sql<Date>`now()` })
    .where('id', '=', target.id)
    .where('status', '=', 'pending')
    .where('expires_at', '>', sql<Date>`now()`)
    .returningAll()
    .executeTakeFirst();
  if (!invitation) return undefined;
  const user = await activateInvitee(tx, invitation.user_id, passwordHash, invitation.link_email_key);
  // Throwing rolls the transaction back: the invitation must not stay accepted without its user.
  if (!user) throw new LinkNoLongerUsable();
  return { invitation, user };
}

export class LinkNoLongerUsable extends Error {}

/** The user of the invitation, locked; undefined when the invitation is gone. */
async function lockUserOfInvitation(tx: Queryable, invitationId: string): Promise<string | undefined> {
  // lockAccount's lock, found through the invitation in the same statement.
  const row = await tx
    .selectFrom('users')
    .select('id')
    .where('id', '=', (eb) => eb.selectFrom('invitations').select('invitations.user_id').where('invitations.id', '=', invitationId))
    .forUpdate()
    .executeTakeFirst();
  return row?.id;
}

/** `gone`: the invitation's row no longer exists (a restore, a manual delete); nothing to do. */
export type ExpiryOutcome = 'expired' | 'accepted' | 'revoked' | 'gone';

/**
 * The timer fired: expire the invitation unless something else already ended it. Returns
 * what the durable record says, which is what the workflow reports (R8, security.md 21),
 * and whether THIS run changed it: a re-run of the step (the process died after the commit)
 * finds it already expired and must record nothing again (issue 19.1).
 */
export async function expireInvitation(
  tx: Queryable,
  invitationId: string,
): Promise<{ outcome: ExpiryOutcome; userId?: string; changed: boolean }> {
  const userId = await lockUserOfInvitation(tx, invitationId);
  if (!userId) return { outcome: 'gone', changed: false };
  const expired = await endInvitation(tx, invitationId, 'expired', 'invitation_expired');
  if (expired) return { outcome: 'expired', userId, changed: true };
  const current = await findInvitationById(tx, invitationId);
  // Not pending any more (the update above found nothing): whatever ended it first, stands.
  return { outcome: (current?.status ?? 'gone') as ExpiryOutcome, userId, changed: false };
}

/** How long until the invitation is due by the database's clock (negative: overdue); undefined when gone. */
export async function millisecondsUntilDue(db: Queryable, invitationId: string): Promise<number | undefined> {
  const row = await db
    .selectFrom('invitations')
    .select(sql<number>`(extract(epoch from (expires_at - now())) * 1000)::float8`.as('ms'))
    .where('id', '=', invitationId)
    .executeTakeFirst();
  return row?.ms;
}

/** Staff withdraw a pending invitation; the link stops working at once. */
export async function revokeInvitation(tx: Queryable, invitationId: string): Promise<InvitationRow | undefined> {
  await lockUserOfInvitation(tx, invitationId);
  return endInvitation(tx, invitationId, 'revoked', 'invitation_revoked');
}

export async function findPendingInvitationOf(db: Queryable, userId: string): Promise<InvitationRow | undefined> {
  return db.selectFrom('invitations').selectAll().where('user_id', '=', userId).where('status', '=', 'pending').executeTakeFirst();
}

/**
 * Ends the user's pending invitation, if any, because the person behind it is gone: deleted
 * or overwritten (R11). The caller holds the user's lock and changes the user itself.
 */
export async function endPendingInvitationOf(tx: Queryable, userId: string): Promise<InvitationRow | undefined> {
  return tx
    .updateTable('invitations')
    .set({ status: 'revoked', revoked_at: sql<Date>`now()` })
    .where('user_id', '=', userId)
    .where('status', '=', 'pending')
    .returningAll()
    .executeTakeFirst();
}

/** A completed password reset also accepts a pending invitation (R12). Caller holds the lock. */
export async function acceptPendingInvitationOf(tx: Queryable, userId: string): Promise<InvitationRow | undefined> {
  return tx
    .updateTable('invitations')
    .set({ status: 'accepted', accepted_at: sql<Date>`now()` })
    .where('user_id', '=', userId)
    .where('status', '=', 'pending')
    .returningAll()
    .executeTakeFirst();
}

/** pending → expired/revoked, and the invitee with it (caller holds the user's lock). */
async function endInvitation(
  tx: Queryable,
  invitationId: string,
  status: 'expired' | 'revoked',
  reason: DeactivationReason,
): Promise<InvitationRow | undefined> {
  const ended = await tx
    .updateTable('invitations')
    .set(status === 'expired' ? { status, expired_at: sql<Date>`now()` } : { status, revoked_at: sql<Date>`now()` })
    .where('id', '=', invitationId)
    .where('status', '=', 'pending')
    // The database's clock decides, like accept's: past expires_at a revoke is too late.
    .$if(status === 'revoked', (q) => q.where('expires_at', '>', sql<Date>`now()`))
    .returningAll()
    .executeTakeFirst();
  if (ended) await deactivateInvitee(tx, ended.user_id, reason);
  return ended;
}

/** A page of pending invitations created before `before`, with what restarting their workflow needs, by id. */
export async function listPendingInvitations(db: Queryable, before: Date, afterId: string | null, limit: number) {
  let query = db
    .selectFrom('invitations')
    .innerJoin('users', 'users.id', 'invitations.user_id')
    .select([
      'invitations.id as invitation_id',
      'invitations.expires_at',
      'invitations.created_by',
      'users.id as user_id',
      'users.username',
      'users.email',
      'users.user_type',
      'users.is_staff',
      'users.permissions',
      'users.locale',
    ])
    .where('invitations.status', '=', 'pending')
    .where('users.deleted_at', 'is', null)
    .where('invitations.created_at', '<', before)
    .orderBy('invitations.id')
    .limit(limit);
  if (afterId !== null) query = query.where('invitations.id', '>', afterId);
  return query.execute();
}
