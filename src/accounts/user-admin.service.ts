import { recordAudit } from '../audit/audit.repository.js';
import type { Actor } from '../audit/actor.js';
import type { AppDeps } from '../deps.js';
import type { UserRow } from '../db/schema.js';
import { DomainError } from '../errors.js';
import { endPendingInvitationOf, findPendingInvitationOf, latestInvitationForUser } from '../invitations/invitation.repository.js';
import { signalBestEffort } from '../temporal/calls.js';
import { deactivateInvitee, killResetLinks, lockAccount, softDelete } from '../users/account-status.js';
import { canonicalEmail, usernameColumns } from '../users/identity.js';
import { isUuid } from '../users/ids.js';
import { findUserById, updateProfile, type ProfileUpdate } from '../users/user.repository.js';
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

function profileChanges(deps: AppDeps, before: UserRow, edit: UserEdit): ProfileUpdate {
  if (edit.userType !== undefined && !deps.config.USER_TYPES.includes(edit.userType)) {
    throw new DomainError('ValidationFailed', 'The user type is not one of the configured ones.', {
      errors: [{ field: 'userType', message: `must be one of: ${deps.config.USER_TYPES.join(', ')}` }],
    });
  }
  const set: ProfileUpdate = { updated_at: new Date() };
  if (edit.username !== undefined) Object.assign(set, usernameColumns(edit.username));
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
 * - Once neither the username nor the address is the one an invitee was invited with (in one
 *   edit or several), that is R11's overwrite: the person invited is gone, so the pending
 *   invitation ends with them (its link and reset links die, the user is inactive with reason
 *   `overwritten`, the workflow ends), and the old name and address are free again.
 * - Changing only the address kills reset links (meant for the old mailbox) but keeps the
 *   invitation link: R7 re-sends an exact copy to the original recipient. Accepting it then
 *   does not confirm the new address, which the link never reached.
 * Everything is decided under the user's lock, on the row as it is then.
 * The answer says what happened and what the platform should do next.
 */
export async function editUser(deps: AppDeps, id: string, edit: UserEdit, actor: Actor) {
  await liveUser(deps, id);
  const result = await deps.db.transaction().execute(async (tx) => {
    await lockAccount(tx, id);
    const before = await findUserById(tx, id);
    if (!before) throw new DomainError('UserNotFound', `No user ${id}.`);
    const set = profileChanges(deps, before, edit);
    let row = await updateProfile(tx, id, set);
    if (!row) throw new DomainError('UserNotFound', `No user ${id}.`);
    const emailChanged = row.email_key !== before.email_key;
    const pending = row.status === 'invited' ? await findPendingInvitationOf(tx, id) : undefined;
    const overwrite =
      pending !== undefined &&
      row.username_key !== (pending.invited_username_key ?? before.username_key) &&
      row.email_key !== (pending.invited_email_key ?? before.email_key);
    let revokedResets = 0;
    if (overwrite) {
      await endPendingInvitationOf(tx, id);
      revokedResets = (await deactivateInvitee(tx, id, 'overwritten'))?.resetLinksKilled ?? 0;
      row = (await findUserById(tx, id))!;
    } else if (emailChanged) {
      revokedResets = await killResetLinks(tx, id, 'email_changed');
    }
    // Before and after of the fields staff can see; never the password hash or a token.
    const changes = Object.fromEntries(
      (['username', 'email', 'user_type', 'is_staff', 'permissions', 'status'] as const)
        .filter((k) => JSON.stringify(before[k]) !== JSON.stringify(row[k]))
        .map((k) => [k, { from: before[k], to: row[k] }]),
    );
    await recordAudit(tx, {
      actor,
      action: overwrite ? 'user.overwritten' : 'user.updated',
      userId: id,
      details: { changes, revokedResets, ...(overwrite ? { endedInvitationId: pending.id } : {}) },
    });
    return { before, after: row, emailChanged, ended: overwrite ? pending : undefined };
  });
  const { before, after, emailChanged, ended } = result;

  if (ended) {
    // The rename first, so operators find the ended workflow under the name it ended with.
    await signalBestEffort(deps, ended.workflow_id, usernameChangedSignal, after.username);
    await signalBestEffort(deps, ended.workflow_id, revokedSignal);
    return {
      ...userView(after),
      overwrite: { endedInvitationId: ended.id, status: after.status, reason: 'overwritten' as const },
      nextSteps: [
        `This was an overwrite (R11): neither the username nor the address is the one invited, so the pending invitation ${ended.id} ended, its link and any password-reset links no longer work, and the user is inactive.`,
        `The username ${ended.invited_username_key ?? before.username} and the address ${ended.invited_email_key ?? before.email} the invitation was for are free again: invite the person anew with POST /api/v1/invitations (a new user).`,
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
export async function deleteUser(deps: AppDeps, id: string, actor: Actor): Promise<void> {
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
