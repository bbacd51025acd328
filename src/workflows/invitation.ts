import {
  ActivityFailure,
  ApplicationFailure,
  allHandlersFinished,
  condition,
  log,
  proxyActivities,
  setHandler,
  upsertSearchAttributes,
} from '@temporalio/workflow';
import type { createActivities } from '../activities/index.js';
import { acceptedSignal, registerUpdate, revokedSignal, searchAttributes, stateQuery, userDeletedSignal, usernameChangedSignal, type InvitationOutcome, type InvitationState, type InvitationWorkflowInput, type Registration } from './invitation.messages.js';

type Activities = ReturnType<typeof createActivities>;

// Database steps: quick, retried through short outages; business failures are non-retryable.
const db = proxyActivities<Activities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute' },
});

// SMTP: 4xx and connection errors are retried with backoff for a day (security.md 23);
// a 5xx answer is a non-retryable MailRejected.
const mail = proxyActivities<Activities>({
  startToCloseTimeout: '1 minute',
  scheduleToCloseTimeout: '1 day',
  retry: { initialInterval: '10 seconds', backoffCoefficient: 2, maximumInterval: '15 minutes' },
});

/**
 * One invitation, from creating the invited user to its end: accepted, revoked, or expired
 * after INVITATION_TTL (R1–R4, R8). The database decides every state change with
 * conditional updates; signals only end the wait early.
 */
export async function invitationWorkflow(input: InvitationWorkflowInput): Promise<InvitationState> {
  // Fixed once, from workflow time, so a replay or a time-skipping test sees the same deadline.
  const expiresAt = Date.now() + input.ttlMs;
  const reminderAt = input.reminderMs && input.reminderMs < input.ttlMs ? new Date(expiresAt - input.reminderMs).toISOString() : null;
  const state: InvitationState = {
    phase: 'registering',
    userId: input.userId,
    invitationId: input.invitationId,
    expiresAt: new Date(expiresAt).toISOString(),
    emailId: null,
    mail: 'pending',
    mailError: null,
    reminderAt,
    reminder: reminderAt ? 'scheduled' : 'off',
    reminderEmailId: null,
    outcome: null,
    rejection: null,
  };
  let registration: Registration | undefined;
  let rejection: ApplicationFailure | undefined;
  const end = (outcome: InvitationOutcome) => {
    state.outcome ??= outcome;
  };

  setHandler(stateQuery, () => state);
  setHandler(acceptedSignal, () => end('accepted'));
  setHandler(revokedSignal, () => end('revoked'));
  setHandler(userDeletedSignal, () => end('deleted'));
  setHandler(usernameChangedSignal, (username) => {
    if (input.indexed !== false) upsertSearchAttributes([{ key: searchAttributes.username, value: username }]);
  });
  setHandler(registerUpdate, async () => {
    await condition(() => registration !== undefined || rejection !== undefined);
    if (rejection) throw rejection;
    return registration!;
  });

  try {
    registration = await db.registerInvitedUser({ ...input, expiresAt: state.expiresAt });
  } catch (error) {
    rejection = asBusinessFailure(error);
    state.rejection = rejection.type ?? 'Rejected';
    state.phase = 'closed';
    state.outcome = 'rejected';
    setStatus(input, 'rejected');
    await condition(allHandlersFinished);
    return state;
  }
  setStatus(input, 'pending');

  state.phase = 'sending';
  // Revoked or deleted while registering: no mail with a dead link.
  if (state.outcome === null) {
    const prepared = await db.prepareInvitationEmail({ invitationId: input.invitationId });
    if (!prepared) {
      state.mail = 'skipped';
    } else {
      state.emailId = prepared.emailId;
      try {
        state.mail = await mail.deliverEmail({ emailId: prepared.emailId });
      } catch (error) {
        // The invitation stands: staff see the failure in the email log and can fix and resend.
        state.mail = 'failed';
        state.mailError = asBusinessFailure(error).message;
        await db.markEmailFailed({ emailId: prepared.emailId, error: state.mailError });
        log.warn('invitation mail failed', { emailId: prepared.emailId });
      }
    }
  } else {
    state.mail = 'skipped';
  }

  state.phase = 'waiting';
  if (state.reminderAt !== null) {
    const untilReminder = Date.parse(state.reminderAt) - Date.now();
    if (await condition(() => state.outcome !== null, Math.max(untilReminder, 0))) state.reminder = 'skipped';
    else await remind(state);
  }
  // From the absolute deadline: a slow reminder delivery never lengthens the lifetime.
  const remaining = Date.parse(state.expiresAt) - Date.now();
  if (!(await condition(() => state.outcome !== null, Math.max(remaining, 0)))) {
    state.phase = 'expiring';
    // The record may already say accepted (an accept whose signal was lost): it wins.
    try {
      end(await db.expireInvitation({ invitationId: input.invitationId }));
    } catch (error) {
      if (asBusinessFailure(error).type !== 'RecordGone') throw error;
      log.error('the invitation record is gone; ending without changing anything', { invitationId: input.invitationId });
      end('gone');
    }
  }
  setStatus(input, state.outcome!);
  state.phase = 'closed';
  await condition(allHandlersFinished);
  return state;
}

/** One reminder with the invitation's own link, through the same durable mail step. */
async function remind(state: InvitationState) {
  state.reminder = 'sending';
  const prepared = await db.prepareInvitationReminder({ invitationId: state.invitationId });
  if (!prepared) {
    state.reminder = 'skipped';
    return;
  }
  state.reminderEmailId = prepared.emailId;
  try {
    state.reminder = (await mail.deliverEmail({ emailId: prepared.emailId })) === 'sent' ? 'sent' : 'skipped';
  } catch (error) {
    // Like the invitation mail: the invitation stands, the log shows the failure.
    state.reminder = 'failed';
    await db.markEmailFailed({ emailId: prepared.emailId, error: asBusinessFailure(error).message });
    log.warn('invitation reminder failed', { emailId: prepared.emailId });
  }
}

function setStatus(input: InvitationWorkflowInput, status: string) {
  if (input.indexed !== false) upsertSearchAttributes([{ key: searchAttributes.invitationStatus, value: status }]);
}

function asBusinessFailure(error: unknown): ApplicationFailure {
  const cause = error instanceof ActivityFailure ? error.cause : error;
  if (cause instanceof ApplicationFailure) {
    return ApplicationFailure.create({ type: cause.type ?? undefined, message: cause.message, nonRetryable: true, details: cause.details ?? undefined });
  }
  return ApplicationFailure.create({ type: 'Unexpected', message: String((cause as Error)?.message ?? cause), nonRetryable: true });
}
