import { recordAudit } from '../audit/audit.repository.js';
import type { AppDeps } from '../deps.js';
import type { UserRow, UserUpdate } from '../db/schema.js';
import { DomainError } from '../errors.js';
import { endPendingInvitationOf, latestInvitationForUser } from '../invitations/invitation.repository.js';
import { signalBestEffort } from '../temporal/calls.js';
import { deactivateInvitee, killResetLinks, lockAccount, softDelete } from '../users/account-status.js';
import { canonicalEmail, canonicalUsername } from '../users/identity.js';
import { isUuid } from '../users/ids.js';
import { findUserById, updateProfile } from '../users/user.repository.js';
import { userView } from '../users/user.view.js';
import { invitationWorkflowId, revokedSignal, userDeletedSignal, usernameChangedSignal } from '../workflows/invitation.messages.js';
import { reactivationWorkflowId } from '../workflows/reactivation.messages.js';

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

function profileChanges(deps: AppDeps, before: UserRow, edit: UserEdit): UserUpdate {
  if (edit.userType !== undefined && !deps.config.USER_TYPES.includes(edit.userType)) {
    throw new DomainError('ValidationFailed', 'The user type is not one of the configured ones.', {
      errors: [{ field: 'userType', message: `must be one of: ${deps.config.USER_TYPES.join(', ')}` }],
    });
  }
  const set: UserUpdate = { updated_at: new Date() };
  if (edit.username !== undefined) Object.assign(set, { username: edit.username.normalize('NFC'), username_key: canonicalUsername(edit.username) });
  if (edit.email !== undefined) {
    const email = canonicalEmail(edit.email);
    if (!email.ok) throw new DomainError('ValidationFailed', 'The email address is not valid.', { errors: [{ field: 'email', message: email.problem }] });
    Object.assign(set, { email: edit.email.trim(), email_key: email.value });
  }
  if (edit.userType !== undefined) set.user_type = edit.userType;
  if (edit.isStaff !== undefined) set.is_staff = edit.isStaff;
  if (edit.permissions !== undefined) set.permissions = [...new Set(edit.permissions)];
  // The new address has not been confirmed yet.
  if (set.email_key !== undefined && set.email_key !== before.email_key) set.email_verified_at = null;
  return set;
}

/**
 * Staff edit a user (R2, R5, R11, R12). Only staff change usernames.
 * - Replacing both the username and the address of an invitee is R11's overwrite: the person
 *   invited is gone, so the pending invitation ends with them (its link and reset links die,
 *   the user is inactive with reason `overwritten`, the workflow ends), and the old name and
 *   address are free for a new invitation.
 * - Changing only the address kills reset links (meant for the old mailbox) but keeps the
 *   invitation link: R7 re-sends an exact copy to the original recipient. Accepting it then
 *   does not confirm the new address, which the link never reached.
 * The answer says what happened and what the platform should do next.
 */
export async function editUser(deps: AppDeps, id: string, edit: UserEdit, actor: string | null) {
  const before = await liveUser(deps, id);
  const set = profileChanges(deps, before, edit);
  const emailChanged = set.email_key !== undefined && set.email_key !== before.email_key;
  const usernameChanged = set.username_key !== undefined && set.username_key !== before.username_key;

  const result = await deps.db.transaction().execute(async (tx) => {
    await lockAccount(tx, id);
    let row = await updateProfile(tx, id, set);
    if (!row) throw new DomainError('UserNotFound', `No user ${id}.`);
    const overwritten = emailChanged && usernameChanged && row.status === 'invited' ? await endPendingInvitationOf(tx, id) : undefined;
    if (overwritten) {
      await deactivateInvitee(tx, id, 'overwritten');
      row = (await findUserById(tx, id))!;
    }
    const revokedResets = emailChanged && !overwritten ? await killResetLinks(tx, id, 'email_changed') : 0;
    const changes = Object.fromEntries(
      (['username', 'email', 'user_type', 'is_staff', 'permissions'] as const)
        .filter((k) => JSON.stringify(before[k]) !== JSON.stringify(row[k]))
        .map((k) => [k, { from: before[k], to: row[k] }]),
    );
    await recordAudit(tx, {
      actor,
      action: overwritten ? 'user.overwritten' : 'user.updated',
      userId: id,
      details: { changes, revokedResets, ...(overwritten ? { endedInvitationId: overwritten.id } : {}) },
    });
    return { after: row, overwritten };
  });
  const { after, overwritten } = result;

  if (overwritten) {
    await signalBestEffort(deps, overwritten.workflow_id, revokedSignal);
    return {
      ...userView(after),
      overwrite: { endedInvitationId: overwritten.id, status: after.status, reason: 'overwritten' as const },
      nextSteps: [
        `This was an overwrite (R11): the pending invitation ${overwritten.id} ended, its link and any password-reset links no longer work, and the user is inactive.`,
        `The previous username ${before.username} and address ${before.email} are free: invite the person again with POST /api/v1/invitations (a new user).`,
      ],
    };
  }
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
        `The pending invitation link went to ${before.email} and stays valid until ${new Date(invitation.expires_at).toISOString()}, as R7 re-sends copy it there; accepting it does not confirm ${after.email}. If that address was wrong, the reset at ${after.email} ends it: completing the reset accepts the invitation and the old link stops working at once. Or delete the user and invite again (R11).`,
      );
    }
  }
  return { ...userView(after), ...(nextSteps.length ? { nextSteps } : {}) };
}

/**
 * R11: deletes the user. Username and email are free at once; its links die and its
 * workflows end, so no stale timer can touch a new user who reuses the name (a new user is a
 * new id, and every update is keyed by id).
 */
export async function deleteUser(deps: AppDeps, id: string, actor: string | null): Promise<void> {
  await liveUser(deps, id);
  const deleted = await deps.db.transaction().execute(async (tx) => {
    await lockAccount(tx, id);
    if (!(await softDelete(tx, id))) return false;
    await endPendingInvitationOf(tx, id);
    await recordAudit(tx, { actor, action: 'user.deleted', userId: id });
    return true;
  });
  if (!deleted) throw new DomainError('UserNotFound', `No user ${id}.`);
  await Promise.all([
    signalBestEffort(deps, invitationWorkflowId(id), userDeletedSignal),
    signalBestEffort(deps, reactivationWorkflowId(id), userDeletedSignal),
  ]);
}
