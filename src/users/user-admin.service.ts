import { sql } from 'kysely';
import { recordAudit } from '../audit/audit.repository.js';
import type { AppDeps } from '../deps.js';
import type { UserUpdate } from '../db/schema.js';
import { DomainError } from '../errors.js';
import { revokeOpenResets } from '../passwords/password-reset.repository.js';
import { signalBestEffort } from '../temporal/calls.js';
import { invitationWorkflowId, userDeletedSignal, usernameChangedSignal } from '../workflows/invitation.messages.js';
import { reactivationWorkflowId } from '../workflows/reactivation.messages.js';
import { latestInvitationForUser } from '../invitations/invitation.repository.js';
import { canonicalEmail, usernameColumns } from './identity.js';
import { findUserById, uniqueViolationToDomain } from './user.repository.js';
import { isUuid } from './user.service.js';
import { userView } from './user.view.js';

export interface UserEdit {
  username?: string | undefined;
  email?: string | undefined;
  userType?: string | undefined;
  isStaff?: boolean | undefined;
  permissions?: string[] | undefined;
}

async function liveUser(deps: AppDeps, id: string) {
  const user = isUuid(id) ? await findUserById(deps.db, id) : undefined;
  if (!user) throw new DomainError('UserNotFound', `No user ${id}.`);
  return user;
}

/**
 * Staff edit a user (R2, R5, R11, R12). Only staff change usernames. An address change
 * kills outstanding reset links (they were meant for the old mailbox); a pending invitation
 * link stays valid, because R7 re-sends an exact copy to the original recipient. The answer
 * says what the platform should do next.
 */
export async function editUser(deps: AppDeps, id: string, edit: UserEdit, actor: string | null) {
  const before = await liveUser(deps, id);
  if (edit.userType !== undefined && !deps.config.USER_TYPES.includes(edit.userType)) {
    throw new DomainError('ValidationFailed', 'The user type is not one of the configured ones.', {
      errors: [{ field: 'userType', message: `must be one of: ${deps.config.USER_TYPES.join(', ')}` }],
    });
  }
  const set: UserUpdate = { updated_at: new Date() };
  if (edit.username !== undefined) Object.assign(set, usernameColumns(edit.username));
  if (edit.email !== undefined) {
    const email = canonicalEmail(edit.email);
    if (!email.ok) throw new DomainError('ValidationFailed', 'The email address is not valid.', { errors: [{ field: 'email', message: email.problem }] });
    Object.assign(set, { email: edit.email.trim(), email_key: email.value });
  }
  if (edit.userType !== undefined) set.user_type = edit.userType;
  if (edit.isStaff !== undefined) set.is_staff = edit.isStaff;
  if (edit.permissions !== undefined) set.permissions = [...new Set(edit.permissions)];
  const emailChanged = set.email_key !== undefined && set.email_key !== before.email_key;
  if (emailChanged) set.email_verified_at = null; // the new address has not been confirmed yet

  const after = await deps.db.transaction().execute(async (tx) => {
    let row;
    try {
      row = await tx.updateTable('users').set(set).where('id', '=', id).where('deleted_at', 'is', null).returningAll().executeTakeFirst();
    } catch (error) {
      throw uniqueViolationToDomain(error) ?? error;
    }
    if (!row) throw new DomainError('UserNotFound', `No user ${id}.`);
    const revokedResets = emailChanged ? await revokeOpenResets(tx, id, 'email_changed') : 0;
    const changes = Object.fromEntries(
      (['username', 'email', 'user_type', 'is_staff', 'permissions'] as const)
        .filter((k) => JSON.stringify(before[k]) !== JSON.stringify(row[k]))
        .map((k) => [k, { from: before[k], to: row[k] }]),
    );
    await recordAudit(tx, { actor, action: 'user.updated', userId: id, details: { changes, revokedResets } });
    return row;
  });

  const invitation = await latestInvitationForUser(deps.db, id);
  // Only a waiting invitation workflow is still there to tell.
  if (after.username !== before.username && invitation?.status === 'pending') {
    await signalBestEffort(deps, invitationWorkflowId(id), usernameChangedSignal, after.username);
  }
  const nextSteps: string[] = [];
  if (emailChanged && after.status !== 'active') {
    nextSteps.push(
      `Ask the user to choose "forgot password" with ${after.email}: completing it confirms the new address and makes the user active${after.status === 'invited' ? ', which also accepts the pending invitation' : ''}.`,
    );
    if (invitation?.status === 'pending') {
      nextSteps.push(
        `The pending invitation link went to ${before.email} and stays valid until ${new Date(invitation.expires_at).toISOString()}, as R7 re-sends copy it there. If that address was wrong, the reset at ${after.email} ends it: completing the reset accepts the invitation and the old link stops working at once. Or delete the user and invite again (R11).`,
      );
    }
  }
  return { ...userView(after), ...(nextSteps.length ? { nextSteps } : {}) };
}

/**
 * R11: deletes the user. Username and email are free at once (the unique indexes only cover
 * users not deleted); its links die and its workflows end, so no stale timer can touch a
 * new user who reuses the name (a new user is a new id, and every update is keyed by id).
 */
export async function deleteUser(deps: AppDeps, id: string, actor: string | null): Promise<void> {
  await liveUser(deps, id);
  const deleted = await deps.db.transaction().execute(async (tx) => {
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
      .where('id', '=', id)
      .where('deleted_at', 'is', null)
      .returning('id')
      .executeTakeFirst();
    if (!row) return false;
    await tx
      .updateTable('invitations')
      .set({ status: 'revoked', revoked_at: sql<Date>`now()` })
      .where('user_id', '=', id)
      .where('status', '=', 'pending')
      .execute();
    await revokeOpenResets(tx, id, 'deleted');
    await recordAudit(tx, { actor, action: 'user.deleted', userId: id });
    return true;
  });
  if (!deleted) throw new DomainError('UserNotFound', `No user ${id}.`);
  await Promise.all([
    signalBestEffort(deps, invitationWorkflowId(id), userDeletedSignal),
    signalBestEffort(deps, reactivationWorkflowId(id), userDeletedSignal),
  ]);
}
