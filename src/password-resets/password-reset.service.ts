import { uuidv7 } from 'uuidv7';
import { recordAudit } from '../audit/audit.repository.js';
import { selfActor } from '../audit/actor.js';
import type { AppDeps } from '../deps.js';
import { DomainError } from '../errors.js';
import { openLink } from '../links/open-link.js';
import { signalBestEffort, temporalCall } from '../temporal/calls.js';
import { canonicalEmail } from '../users/identity.js';
import { acceptPendingInvitationOf } from '../invitations/invitation.repository.js';
import { activateAfterReset, lockAccount, mayUseForgotPassword } from '../users/account-status.js';
import { findUserById } from '../users/user.repository.js';
import { userView, type UserView } from '../users/user.view.js';
import { acceptedSignal } from '../workflows/invitation.messages.js';
import { passwordResetWorkflowId, type PasswordResetWorkflowInput } from '../workflows/password-reset.messages.js';
import type { PasswordResetWorkflow } from '../workflows/password-reset.messages.js';
import { hashPassword } from '../passwords/hashing.js';
import { passwordProblems } from '../passwords/policy.js';
import { consumeReset, findResetByTokenHash } from './password-reset.repository.js';

/**
 * R9 "forgot password". The answer is the same whether or not the address is a user's
 * (security.md 9): every well-formed request starts the same workflow, which does the
 * lookup; nothing here reads the users table. Requesting changes no account state.
 */
export async function requestPasswordReset(deps: AppDeps, email: string): Promise<void> {
  const canonical = canonicalEmail(email);
  if (!canonical.ok) {
    throw new DomainError('ValidationFailed', 'The email address is not valid.', { errors: [{ field: 'email', message: canonical.problem }] });
  }
  const requestId = uuidv7();
  const input: PasswordResetWorkflowInput = { requestId, emailKey: canonical.value, ttlMs: deps.config.PASSWORD_RESET_TTL };
  await temporalCall(deps.temporal, () =>
    deps.temporal.workflow.start<PasswordResetWorkflow>('passwordResetWorkflow', {
      workflowId: passwordResetWorkflowId(requestId),
      taskQueue: deps.config.TEMPORAL_TASK_QUEUE,
      args: [input],
      staticSummary: 'Password reset request',
    }),
  );
}

function notValidLink(): DomainError {
  return new DomainError('LinkInvalidOrExpired', 'This password reset link is invalid, was already used, or has expired. Request a new one.');
}

async function openReset(deps: AppDeps, token: string) {
  const reset = await openLink('password_reset', token, (hash) => findResetByTokenHash(deps.db, hash));
  if (!reset) throw notValidLink();
  if (reset.consumed_at || reset.revoked_at || new Date(reset.expires_at).getTime() <= Date.now()) throw notValidLink();
  const user = await findUserById(deps.db, reset.user_id);
  if (!user) throw notValidLink();
  return { reset, user };
}

/** What the reset page shows before the password is chosen; never consumes the token. */
export async function inspectPasswordReset(deps: AppDeps, token: string) {
  const { reset, user } = await openReset(deps, token);
  // The page shows the deadline as the mail did: in the platform's time zone, not the reader's.
  return { username: user.username, expiresAt: new Date(reset.expires_at).toISOString(), locale: user.locale, timeZone: deps.config.PLATFORM_TIMEZONE };
}

/**
 * Sets the new password, confirms the address (the link reached it) and makes the user
 * active (R9). For an invitee still `invited` this also accepts the invitation (R12): its
 * link stops working and its workflow is told, so no timer deactivates the user later.
 */
export async function completePasswordReset(deps: AppDeps, token: string, password: string): Promise<UserView> {
  const { reset, user } = await openReset(deps, token);
  const problems = passwordProblems(password, user);
  if (problems.length) throw new DomainError('WeakPassword', 'Choose a different password.', { errors: problems });
  const passwordHash = await hashPassword(password);
  const done = await deps.db.transaction().execute(async (tx) => {
    await lockAccount(tx, reset.user_id);
    // Read under the lock, not before hashing: an expiry or midnight deactivation may have
    // committed meanwhile, and what this reset changed is what it records (issue 14.4).
    const current = await findUserById(tx, reset.user_id);
    // A revoked invitee's links are revoked with it; this is the second line (security.md 14).
    if (!current || !mayUseForgotPassword(current)) return undefined;
    if (!(await consumeReset(tx, reset.id))) return undefined;
    const updated = await activateAfterReset(tx, reset.user_id, passwordHash);
    if (!updated) return undefined;
    const invitation = await acceptPendingInvitationOf(tx, reset.user_id);
    await recordAudit(tx, {
      actor: selfActor(updated.username),
      action: 'password.reset_completed',
      userId: updated.id,
      details: { resetId: reset.id, previousStatus: current.status, ...(invitation ? { acceptedInvitationId: invitation.id } : {}) },
    });
    return { user: updated, invitation };
  });
  if (!done) throw notValidLink();
  if (done.invitation) await signalBestEffort(deps, done.invitation.workflow_id, acceptedSignal);
  return userView(done.user);
}
