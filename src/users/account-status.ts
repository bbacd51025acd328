import { sql } from 'kysely';
import type { Queryable } from '../db/database.js';
import type { UserRow } from '../db/schema.js';

/**
 * The one home of account status (R4, R8–R12): every change of `users.status` is one of
 * these functions, each a single conditional UPDATE whose WHERE clause is the rule, so the
 * database decides every race and a retried step finds the work already done. Callers run
 * them inside a transaction that first takes `lockAccount`.
 */

export type DeactivationReason =
  | 'invitation_expired'
  | 'invitation_revoked'
  | 'overwritten'
  | 'reactivation_unused'
  | 'deleted';

/** Why a user's reset links were killed (kept on the reset row for the record). */
export type ResetRevocation = DeactivationReason | 'deactivated' | 'email_changed' | 'superseded';

/**
 * Staff ended this account on purpose (revoked the invitation, or overwrote the person it
 * was for): "forgot password" must not become a way around that. Staff can reactivate or
 * re-invite.
 */
export function mayUseForgotPassword(user: Pick<UserRow, 'status' | 'deactivation_reason'>): boolean {
  return !(user.status === 'inactive' && (user.deactivation_reason === 'invitation_revoked' || user.deactivation_reason === 'overwritten'));
}

/**
 * Every transaction that changes a user and its invitation or reset rows locks the user row
 * first, so two of them never wait on each other in opposite orders (deadlock).
 */
export async function lockAccount(tx: Queryable, userId: string): Promise<void> {
  await tx.selectFrom('users').select('id').where('id', '=', userId).forUpdate().execute();
}

/** lockAccount that also reads the row it locked (deleted or not): one round trip for two. */
export async function lockAndReadAccount(tx: Queryable, userId: string): Promise<UserRow | undefined> {
  return tx.selectFrom('users').selectAll().where('id', '=', userId).forUpdate().executeTakeFirst();
}

/**
 * invited → active when the invitee sets a password through the link (R4). The address
 * counts as confirmed only if the link was mailed to the address the user has now.
 */
export async function activateInvitee(
  tx: Queryable,
  userId: string,
  passwordHash: string,
  linkEmailKey: string | null,
): Promise<UserRow | undefined> {
  return tx
    .updateTable('users')
    .set({
      status: 'active',
      password_hash: passwordHash,
      activated_at: sql<Date>`now()`,
      // A link minted before link_email_key existed (null) went to the address of the time.
      email_verified_at: sql<Date | null>`case when ${linkEmailKey}::text is null or email_key = ${linkEmailKey} then now() else null end`,
      deactivated_at: null,
      deactivation_reason: null,
      updated_at: sql<Date>`now()`,
    })
    .where('id', '=', userId)
    .where('status', '=', 'invited')
    .where('deleted_at', 'is', null)
    .returningAll()
    .executeTakeFirst();
}

/**
 * Any live user → active through a reset link (R9, R12): the link reached the stored
 * address, so it is confirmed. An old manual-reactivation deadline no longer applies once
 * the user is back by themselves; one still running (the user is active) stays, since R10
 * wants the login too. One already past (midnight came, the step has not run yet) goes too:
 * the login was refused with "use forgot password", and this is that (issue 14.4); the
 * midnight step then finds no deadline and leaves the user active.
 */
export async function activateAfterReset(tx: Queryable, userId: string, passwordHash: string): Promise<UserRow | undefined> {
  return tx
    .updateTable('users')
    .set({
      password_hash: passwordHash,
      status: 'active',
      email_verified_at: sql<Date>`now()`,
      activated_at: sql<Date>`coalesce(activated_at, now())`,
      deactivated_at: null,
      deactivation_reason: null,
      reactivation_deadline: sql<Date | null>`case when status = 'inactive' or reactivation_deadline <= now() then null else reactivation_deadline end`,
      updated_at: sql<Date>`now()`,
    })
    .where('id', '=', userId)
    .where('deleted_at', 'is', null)
    .returningAll()
    .executeTakeFirst();
}

/**
 * invited → inactive: the invitation ended without acceptance (expired, revoked, or the
 * user was overwritten, R8/R11). Its reset links die with it (security.md 14).
 */
export async function deactivateInvitee(tx: Queryable, userId: string, reason: DeactivationReason): Promise<{ resetLinksKilled: number } | undefined> {
  // One statement: the expiry of a deadline burst pays per round trip (docs/benchmarks.md, P4).
  const row = await tx
    .with('deactivated', (q) =>
      q
        .updateTable('users')
        .set({ status: 'inactive', deactivated_at: sql<Date>`now()`, deactivation_reason: reason, updated_at: sql<Date>`now()` })
        .where('id', '=', userId)
        .where('status', '=', 'invited')
        .returning('id'),
    )
    .with('killed', (q) =>
      q
        .updateTable('password_resets')
        .set({ revoked_at: sql<Date>`now()`, revoked_reason: reason })
        .where('user_id', 'in', (eb) => eb.selectFrom('deactivated').select('deactivated.id'))
        .where('consumed_at', 'is', null)
        .where('revoked_at', 'is', null)
        .returning('password_resets.id'),
    )
    .selectFrom('deactivated')
    .select((eb) => eb.selectFrom('killed').select((k) => k.fn.countAll<string>().as('n')).as('killed'))
    .executeTakeFirst();
  return row ? { resetLinksKilled: Number(row.killed) } : undefined;
}

/**
 * inactive → active until `deadline` (R10, manual reactivation). The database's clock sets
 * reactivated_at, like last_login_at, because the midnight check compares the two.
 */
export async function reactivateUntil(tx: Queryable, userId: string, deadline: string): Promise<UserRow | undefined> {
  return tx
    .updateTable('users')
    .set({
      status: 'active',
      reactivated_at: sql<Date>`now()`,
      reactivation_deadline: deadline,
      deactivated_at: null,
      deactivation_reason: null,
      updated_at: sql<Date>`now()`,
    })
    .where('id', '=', userId)
    .where('status', '=', 'inactive')
    .where('deleted_at', 'is', null)
    .returningAll()
    .executeTakeFirst();
}

/**
 * active → inactive at the midnight after a manual reactivation (R10), unless the user
 * logged in since. The WHERE clause is the whole decision: a login committing first always
 * wins, and a reactivation with a later deadline is left to its own timer.
 */
export async function endUnusedReactivation(tx: Queryable, userId: string, deadline: Date): Promise<boolean> {
  const row = await tx
    .updateTable('users')
    .set({ status: 'inactive', deactivated_at: sql<Date>`now()`, deactivation_reason: 'reactivation_unused', updated_at: sql<Date>`now()` })
    .where('id', '=', userId)
    .where('status', '=', 'active')
    .where('deleted_at', 'is', null)
    .where('reactivation_deadline', '<=', deadline)
    .where((eb) => eb.or([eb('last_login_at', 'is', null), eb('last_login_at', '<', eb.ref('reactivated_at'))]))
    .returning('id')
    .executeTakeFirst();
  if (row) await killResetLinks(tx, userId, 'deactivated');
  return row !== undefined;
}

/**
 * Soft delete (R11): username and address are free at once, because the unique indexes
 * cover only users not deleted. The row stays for the email log and the audit trail.
 */
export async function softDelete(tx: Queryable, userId: string): Promise<boolean> {
  const row = await tx
    .updateTable('users')
    .set({
      deleted_at: sql<Date>`now()`,
      status: 'inactive',
      deactivated_at: sql<Date>`coalesce(deactivated_at, now())`,
      deactivation_reason: 'deleted',
      reactivation_deadline: null,
      updated_at: sql<Date>`now()`,
    })
    .where('id', '=', userId)
    .where('deleted_at', 'is', null)
    .returning('id')
    .executeTakeFirst();
  if (row) {
    await killResetLinks(tx, userId, 'deleted');
    // WEBHOOK_INCLUDE_PII put username and address into the user's events at dispatch; a
    // deleted user's events carry neither from now on (pending deliveries, redeliveries).
    await sql`update webhook_events set data = data - 'username' - 'email' where user_id = ${userId} and (data ? 'username' or data ? 'email')`.execute(tx);
  }
  return row !== undefined;
}

/** Kills every usable reset link of the user (newer request, address change, deactivation). */
export async function killResetLinks(tx: Queryable, userId: string, reason: ResetRevocation): Promise<number> {
  const result = await tx
    .updateTable('password_resets')
    .set({ revoked_at: sql<Date>`now()`, revoked_reason: reason })
    .where('user_id', '=', userId)
    .where('consumed_at', 'is', null)
    .where('revoked_at', 'is', null)
    .executeTakeFirst();
  return Number(result.numUpdatedRows);
}

/** Records a login of an active user; undefined if the user stopped being active meanwhile. */
export async function recordLogin(tx: Queryable, userId: string): Promise<UserRow | undefined> {
  return tx
    .updateTable('users')
    .set({ last_login_at: sql<Date>`now()`, updated_at: sql<Date>`now()` })
    .where('id', '=', userId)
    .where('status', '=', 'active')
    .where('deleted_at', 'is', null)
    // A manual reactivation whose midnight passed without a login is over (R10), even if the
    // workflow's midnight step has not run yet: a login now must not rescue it.
    .where(sql<boolean>`(reactivation_deadline is null or reactivation_deadline > now() or last_login_at >= reactivated_at)`)
    .returningAll()
    .executeTakeFirst();
}
