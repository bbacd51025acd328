import { WorkflowNotFoundError } from '@temporalio/client';
import { signalBestEffort, temporalCall } from '../temporal/calls.js';
import { uuidv7 } from 'uuidv7';
import type { AppDeps } from '../deps.js';
import { DomainError, type FieldError } from '../errors.js';
import { recordAudit } from '../audit/audit.repository.js';
import { selfActor, type Actor } from '../audit/actor.js';
import { canonicalEmail, canonicalUsername, usernameProblem } from '../users/identity.js';
import { findUserById, findUserByIdEvenDeleted, takenKeys, usernameTaken } from '../users/user.repository.js';
import type { UserRow } from '../db/schema.js';
import { idempotentIds, requestFingerprint, type IdempotentInvite } from './idempotency.js';
import { isUuid } from '../users/ids.js';
import { userView, type UserView } from '../users/user.view.js';
import { hashPassword } from '../passwords/hashing.js';
import { passwordProblems } from '../passwords/policy.js';
import { acceptedSignal, invitationWorkflowId, revokedSignal, searchAttributes } from '../workflows/invitation.messages.js';
import { registerInvitedUser, type RegistrationInput } from './registration.js';
import type { InvitationWorkflow } from '../workflows/invitation.messages.js';
import { consumeInvitation, findInvitationById, findInvitationByTokenHash, LinkNoLongerUsable, revokeInvitation } from './invitation.repository.js';
import { openLink } from '../links/open-link.js';
import type { Metadata } from '../users/metadata.js';
import { nextStepUrl, redirectUrlProblem } from './redirect.js';

export interface InviteCommand {
  username: string;
  email: string;
  userType: string;
  isStaff?: boolean | undefined;
  permissions?: string[] | undefined;
  locale?: 'de' | 'en' | undefined;
  metadata?: Metadata | undefined;
  redirectUrl?: string | undefined;
}

/**
 * R1–R3. Validation and a friendly 409 happen here; then the invitation workflow is started
 * and the user registered (src/invitations/registration.ts), in that order, so a user row
 * never exists without its workflow, whatever process dies when (security.md 22).
 */
export async function inviteUser(deps: AppDeps, command: InviteCommand, actor: Actor, idempotency?: IdempotentInvite) {
  const errors: FieldError[] = [];
  const usernameIssue = usernameProblem(command.username);
  if (usernameIssue) errors.push({ field: 'username', message: usernameIssue });
  const email = canonicalEmail(command.email);
  if (!email.ok) errors.push({ field: 'email', message: email.problem });
  if (!deps.config.USER_TYPES.includes(command.userType)) {
    errors.push({ field: 'userType', message: `must be one of: ${deps.config.USER_TYPES.join(', ')}` });
  }
  if (command.redirectUrl !== undefined) {
    const problem = redirectUrlProblem(command.redirectUrl, deps.config);
    if (problem) errors.push({ field: 'redirectUrl', message: problem });
  }
  if (errors.length || !email.ok) throw new DomainError('ValidationFailed', 'The invitation is not valid.', { errors });

  const ids = idempotency ? idempotentIds(idempotency) : { userId: uuidv7(), invitationId: uuidv7() };
  const fingerprint = idempotency
    ? requestFingerprint({
        usernameKey: canonicalUsername(command.username),
        emailKey: email.value,
        userType: command.userType,
        isStaff: command.isStaff ?? false,
        permissions: command.permissions ?? [],
        locale: command.locale ?? deps.config.DEFAULT_LOCALE,
        metadata: command.metadata ?? {},
        ...(command.redirectUrl ? { redirectUrl: command.redirectUrl } : {}),
      })
    : undefined;
  if (idempotency) {
    const first = await findUserByIdEvenDeleted(deps.db, ids.userId);
    if (first) return replay(deps, first, ids.invitationId, fingerprint!);
  }

  const taken = await takenKeys(deps.db, canonicalUsername(command.username), email.value);
  if (idempotency && (taken.username || taken.email)) {
    // A double click: the other request with this key may have created the user since we looked.
    const first = await findUserByIdEvenDeleted(deps.db, ids.userId);
    if (first) return replay(deps, first, ids.invitationId, fingerprint!);
  }
  if (taken.username) throw usernameTaken(taken.username);
  if (taken.email) throw new DomainError('EmailTaken', 'This email address is already in use.', { errors: [{ field: 'email', message: 'is already in use' }] });

  const { userId } = ids;
  const input: RegistrationInput = {
    userId,
    invitationId: ids.invitationId,
    username: command.username.normalize('NFC'),
    email: command.email.trim(),
    userType: command.userType,
    isStaff: command.isStaff ?? false,
    permissions: [...new Set(command.permissions ?? [])],
    locale: command.locale ?? deps.config.DEFAULT_LOCALE,
    ...(command.metadata && Object.keys(command.metadata).length ? { metadata: command.metadata } : {}),
    ...(command.redirectUrl ? { redirectUrl: command.redirectUrl } : {}),
    invitedBy: actor.name,
    invitedVia: actor.key,
    ttlMs: deps.config.INVITATION_TTL,
    expiresAt: new Date(Date.now() + deps.config.INVITATION_TTL).toISOString(),
    reminderMs: deps.config.INVITATION_REMINDER,
    requestFingerprint: fingerprint,
  };
  const workflowId = invitationWorkflowId(userId);
  // The workflow first, then the rows: a user never exists without its workflow. The start is
  // one call that no worker has to answer, so the API answers as soon as both are durable.
  await temporalCall(
    deps.temporal,
    // With an Idempotency-Key, a retry while the first request is still in flight joins it.
    () => startInvitationWorkflow(deps, input, idempotency ? 'USE_EXISTING' : 'FAIL'),
    () => whetherStarted(deps, workflowId, input.invitationId),
  );
  let registered: Awaited<ReturnType<typeof registerInvitedUser>>;
  try {
    registered = await registerInvitedUser(deps.db, input);
  } catch (error) {
    // A name taken since the check above: the workflow's own first step fails the same way.
    if (error instanceof DomainError) throw error;
    deps.log.error({ err: error, userId }, 'registering the invited user failed after its workflow started');
    throw new DomainError(
      'DependencyUnavailable',
      `The database did not take the invitation; its workflow, already started, registers it as soon as the database answers (or ends it if the name or address was taken meanwhile). Look up user ${userId} shortly, or retry with the same Idempotency-Key.`,
      { retryAfterSeconds: 5, userId },
    );
  }
  // The same key again while the first request was in flight: the first one registered.
  if (!registered.created && idempotency) return replay(deps, registered.user, ids.invitationId, fingerprint!);
  if (registered.user.deleted_at) throw new DomainError('UserNotFound', 'The user was deleted right after being invited.');
  return { user: userView(registered.user), invitation: registered.registration.invitation, workflowId, replayed: false };
}

/** Starts the invitation workflow of `input.userId`, indexed for operators (also the reconciler's restart). */
export function startInvitationWorkflow(deps: Pick<AppDeps, 'temporal' | 'config'>, input: RegistrationInput, conflictPolicy: 'USE_EXISTING' | 'FAIL') {
  return deps.temporal.workflow.start<InvitationWorkflow>('invitationWorkflow', {
    workflowId: invitationWorkflowId(input.userId),
    taskQueue: deps.config.TEMPORAL_TASK_QUEUE,
    args: [input],
    // Which invitation this run is for: an ambiguous start looks for its own run by it.
    memo: { invitationId: input.invitationId },
    workflowIdConflictPolicy: conflictPolicy,
    typedSearchAttributes: [
      { key: searchAttributes.userId, value: input.userId },
      { key: searchAttributes.username, value: input.username },
      { key: searchAttributes.invitationStatus, value: 'pending' },
    ],
    staticSummary: `Invitation of ${input.username} (${input.userId})`,
  });
}

/**
 * A retry with the same Idempotency-Key: the first result, as it stands now (the invitee may
 * have accepted since). The same key with a different invitation is the caller's mistake.
 */
async function replay(deps: AppDeps, first: UserRow, invitationId: string, fingerprint: string) {
  const invitation = await findInvitationById(deps.db, invitationId);
  if (!invitation || invitation.request_fingerprint !== fingerprint) {
    throw new DomainError('IdempotencyKeyReused', 'This Idempotency-Key was already used for a different invitation. Use a new key for a new request.');
  }
  return {
    user: userView(first),
    invitation: { id: invitation.id, expiresAt: new Date(invitation.expires_at).toISOString() },
    workflowId: invitation.workflow_id,
    replayed: true,
  };
}

/**
 * The start failed in a way that leaves its effect open (a timeout, a connection lost
 * mid-call). Look: no workflow means nothing was created; a workflow means the start worked,
 * and registering goes ahead. Fails fast itself while Temporal stays unreachable.
 */
/**
 * The start's answer was lost: did it happen? Only a run of *this* invitation counts; an
 * earlier run under the same workflow id (the user's previous, ended invitation) is not one,
 * and taking it for ours would answer 201 with no workflow behind the invitation.
 */
async function whetherStarted(deps: AppDeps, workflowId: string, invitationId: string) {
  const notCreated = () => new DomainError('DependencyUnavailable', 'The workflow service did not answer in time, and no invitation was created. Try again shortly.', { retryAfterSeconds: 5 });
  let described;
  try {
    described = await deps.temporal.withDeadline(Date.now() + 2_000, () => deps.temporal.workflow.getHandle(workflowId).describe());
  } catch (error) {
    if (error instanceof WorkflowNotFoundError) throw notCreated();
    throw error;
  }
  if (described.memo?.invitationId !== invitationId) throw notCreated();
  return deps.temporal.workflow.getHandle(workflowId, described.runId);
}

function notValidLink(): DomainError {
  return new DomainError(
    'LinkInvalidOrExpired',
    'This invitation link is invalid, was already used, or has expired. Ask the person who invited you to send a new invitation, or use "forgot password".',
  );
}

/** Finds the pending invitation a token belongs to, without consuming it (security.md 5). */
export async function inspectInvitation(deps: AppDeps, token: string) {
  const { invitation, user } = await pendingInvitation(deps, token);
  // The page shows the deadline as the mail did: in the platform's time zone, not the reader's.
  return { username: user.username, expiresAt: new Date(invitation.expires_at).toISOString(), locale: user.locale, timeZone: deps.config.PLATFORM_TIMEZONE };
}

async function pendingInvitation(deps: AppDeps, token: string) {
  const invitation = await openLink('invitation', token, (hash) => findInvitationByTokenHash(deps.db, hash));
  if (!invitation) throw notValidLink();
  if (invitation.status !== 'pending' || new Date(invitation.expires_at).getTime() <= Date.now()) throw notValidLink();
  const user = await findUserById(deps.db, invitation.user_id);
  if (!user || user.status !== 'invited') throw notValidLink();
  return { invitation, user };
}

/** R4, and where the accept page sends the invitee next (issue 17.2). */
export async function acceptInvitationWithNextStep(deps: AppDeps, token: string, password: string): Promise<{ user: UserView; redirectUrl: string | null }> {
  const { user, invitation } = await acceptPending(deps, token, password);
  return { user, redirectUrl: nextStepUrl(invitation.redirect_url, deps.config) };
}

/** R4: the invitee sets a password; the account is active at once and the link is spent. */
export async function acceptInvitation(deps: AppDeps, token: string, password: string): Promise<UserView> {
  return (await acceptPending(deps, token, password)).user;
}

async function acceptPending(deps: AppDeps, token: string, password: string) {
  const { invitation, user } = await pendingInvitation(deps, token);
  const problems = passwordProblems(password, user);
  if (problems.length) throw new DomainError('WeakPassword', 'Choose a different password.', { errors: problems });
  const passwordHash = await hashPassword(password);
  const accepted = await deps.db
    .transaction()
    .execute(async (tx) => {
      const result = await consumeInvitation(tx, invitation, passwordHash);
      if (result) {
        await recordAudit(tx, { actor: selfActor(result.user.username), action: 'invitation.accepted', userId: result.user.id, details: { invitationId: invitation.id } });
      }
      return result;
    })
    .catch((error: unknown) => {
      if (error instanceof LinkNoLongerUsable) return undefined;
      throw error;
    });
  if (!accepted) throw notValidLink();
  await signalBestEffort(deps, invitation.workflow_id, acceptedSignal);
  return { user: userView(accepted.user), invitation };
}

/** Staff withdraw a pending invitation: the link stops working and the user is inactive. */
export async function revokeInvitationById(deps: AppDeps, invitationId: string, actor: Actor): Promise<void> {
  if (!isUuid(invitationId)) throw new DomainError('InvitationNotFound', `No invitation ${invitationId}.`);
  const outcome = await deps.db.transaction().execute(async (tx) => {
    const revoked = await revokeInvitation(tx, invitationId);
    if (revoked) {
      await recordAudit(tx, { actor, action: 'invitation.revoked', userId: revoked.user_id, details: { invitationId } });
      return revoked;
    }
    const current = await findInvitationById(tx, invitationId);
    if (!current) throw new DomainError('InvitationNotFound', `No invitation ${invitationId}.`);
    if (current.status === 'accepted') throw new DomainError('InvitationAlreadyAccepted', 'The invitation was already accepted; deactivate or delete the user instead.');
    // Still pending but past expires_at by the database's clock: expired, whether or not the
    // expiry step has run yet; revoking it now would block the reset that expiry allows.
    if (current.status === 'expired' || current.status === 'pending') {
      throw new DomainError('InvitationNotPending', 'The invitation has already expired.');
    }
    return undefined; // already revoked: revoking again changes nothing
  });
  if (outcome) await signalBestEffort(deps, outcome.workflow_id, revokedSignal);
}
