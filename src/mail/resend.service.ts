import { createHash, randomUUID } from 'node:crypto';
import { WithStartWorkflowOperation, WorkflowNotFoundError } from '@temporalio/client';
import type { Actor } from '../audit/actor.js';
import type { AppDeps } from '../deps.js';
import { DomainError } from '../errors.js';
import { resendsLimited } from '../metrics.js';
import { temporalCall } from '../temporal/calls.js';
import { canonicalEmail } from '../users/identity.js';
import { findUserById } from '../users/user.repository.js';
import { isUuid } from '../users/ids.js';
import type { EmailResendWorkflow } from '../workflows/mail.messages.js';
import { invitationWorkflowId } from '../workflows/invitation.messages.js';
import { emailResendWorkflowId, resendUpdate, resendUpdateId, type ResendRequest, type ResendResult } from '../workflows/mail.messages.js';
import { findEmailById, findEmailByKey } from './email-log.repository.js';
import type { EmailRow } from '../db/schema.js';
import { emailView } from './email.view.js';
import { findLinkState, type DeadLinkReason } from './link-state.repository.js';
import { resendKey, resendRefusal } from './resend-rules.js';

/**
 * R7: an exact copy of a logged mail, through the workflow that owns its link: the
 * invitation workflow (as its `resend` update, visible in its history) for invitation mails,
 * and a short workflow of its own for reset mails, whose workflow ended when they were sent.
 * The same Idempotency-Key from the same caller returns the first copy instead of sending another.
 */
export async function resendEmail(deps: AppDeps, rawId: string, callerKey: string | undefined, actor: Actor) {
  // Ids are UUIDs; Postgres reads any case, so a retry spelled in capitals is the same request.
  const id = rawId.toLowerCase();
  // The key is the caller's (bootstrap or a named key's id), as on POST /invitations: another
  // integration choosing the same value neither gets this caller's copy nor blocks it. The
  // scoped value names the copy's row, the update id and the reset resend's workflow id alike.
  const idempotencyKey = callerKey === undefined ? undefined : `${actor.key ?? 'api'}:${callerKey}`;
  if (idempotencyKey) {
    const earlier = await findEmailByKey(deps.db, resendKey(idempotencyKey));
    if (earlier) {
      if (earlier.resent_from !== id) {
        throw new DomainError('ValidationFailed', 'This Idempotency-Key was already used to re-send another mail.', {
          errors: [{ field: 'Idempotency-Key', message: 'was already used for another mail' }],
        });
      }
      return answer(deps, earlier);
    }
  }
  const original = isUuid(id) ? await findEmailById(deps.db, id) : undefined;
  if (!original) throw new DomainError('EmailNotFound', `No email ${id}.`);
  // Checked here for a quick, precise answer; the workflow's step checks again under a lock.
  const link = await findLinkState(deps.db, original);
  if (!link.alive) {
    const refusal = resendRefusal(original, link.reason);
    throw new DomainError(refusal.type, refusal.message);
  }

  const request: ResendRequest = { originalEmailId: original.id, idempotencyKey: idempotencyKey ?? randomUUID(), actor: actor.name, actorKey: actor.key };
  const digest = createHash('sha256').update(request.idempotencyKey).digest('hex').slice(0, 32);
  const options = { args: [request] as [ResendRequest], updateId: resendUpdateId(digest) };
  let result: ResendResult;
  try {
    result = await temporalCall(deps.temporal, () =>
      original.invitation_id
        ? deps.temporal.workflow.getHandle(invitationWorkflowId(original.user_id)).executeUpdate(resendUpdate, options)
        : deps.temporal.workflow.executeUpdateWithStart(resendUpdate, {
            ...options,
            startWorkflowOperation: new WithStartWorkflowOperation<EmailResendWorkflow>('emailResendWorkflow', {
              workflowId: emailResendWorkflowId(digest),
              taskQueue: deps.config.TEMPORAL_TASK_QUEUE,
              args: [{ originalEmailId: original.id }],
              // A double click joins the run its first click started.
              workflowIdConflictPolicy: 'USE_EXISTING',
              staticSummary: `Re-send of email ${original.id}`,
            }),
          }),
    );
  } catch (error) {
    if (error instanceof DomainError && error.type === 'ResendLimited') resendsLimited.inc({ limit: String(error.extra.limit) });
    if (error instanceof WorkflowNotFoundError) {
      throw new DomainError('ResendNotAllowed', "The invitation's workflow has ended, so its mail can no longer be re-sent.");
    }
    throw error;
  }
  const copy = await findEmailById(deps.db, result.emailId);
  return answer(deps, copy!);
}

/**
 * Whether R7 allows a copy of this mail now, and if not why: what the console needs to offer
 * "send again" only while it would work. resendEmail checks the same again when asked.
 */
export async function resendability(deps: AppDeps, id: string): Promise<{ allowed: true } | { allowed: false; reason: DeadLinkReason; message: string }> {
  const original = isUuid(id) ? await findEmailById(deps.db, id) : undefined;
  if (!original) throw new DomainError('EmailNotFound', `No email ${id}.`);
  const link = await findLinkState(deps.db, original);
  return link.alive ? { allowed: true } : { allowed: false, reason: link.reason, message: resendRefusal(original, link.reason).message };
}

/** 202 `{email, warning?}`: the warning when the copy goes to an address the user no longer has. */
async function answer(deps: AppDeps, copy: EmailRow) {
  const user = await findUserById(deps.db, copy.user_id);
  const recipient = canonicalEmail(copy.to_address);
  const moved = user && (!recipient.ok || recipient.value !== user.email_key);
  if (!moved) return { email: emailView(copy) };
  return {
    email: emailView(copy),
    warning:
      `The user's address is now ${user.email}; this copy went to ${copy.to_address}, where the original was sent, as an exact copy does (R7). ` +
      `If that address is wrong, the user can use "forgot password" at the new address, or staff delete the user and invite again (R11).`,
  };
}
