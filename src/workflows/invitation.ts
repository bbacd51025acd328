import {
  ApplicationFailure,
  allHandlersFinished,
  condition,
  log,
  proxyLocalActivities,
  setHandler,
  upsertSearchAttributes,
} from '@temporalio/workflow';
import type { createActivities } from '../activities/index.js';
import { businessFailure, createMailStep, mailActivities } from './mail-step.js';
import { resendUpdate } from './mail.messages.js';
import { acceptedSignal, revokedSignal, searchAttributes, stateQuery, userDeletedSignal, usernameChangedSignal, type InvitationOutcome, type InvitationState, type InvitationWorkflowInput, type Registration } from './invitation.messages.js';

type Activities = ReturnType<typeof createActivities>;

// Database steps: quick, retried through short outages; business failures are non-retryable.
// Local activities: they run in the worker that runs the workflow task, without a round trip
// through the server per step (docs/benchmarks.md, runs H and I). They run again if that
// task is retried, which each of them tolerates: register finds its rows by id, the mail is
// logged under a key (no second link), and expiry is a conditional update.
const db = proxyLocalActivities<Activities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute' },
});

// SMTP: 4xx and connection errors are retried with backoff for a day (security.md 23).
const mail = mailActivities('1 day', '15 minutes');

/**
 * One invitation, from creating the invited user to its end: accepted, revoked, or expired
 * after INVITATION_TTL (R1–R4, R8). The database decides every state change with
 * conditional updates; signals only end the wait early.
 */
export async function invitationWorkflow(input: InvitationWorkflowInput): Promise<InvitationState> {
  // The API fixes the deadline when it registers the user; a workflow started without it (an
  // older caller, a test) fixes it from workflow time, so a replay sees the same deadline.
  const state: InvitationState = {
    phase: 'registering',
    userId: input.userId,
    invitationId: input.invitationId,
    expiresAt: input.expiresAt ?? new Date(Date.now() + input.ttlMs).toISOString(),
    emailId: null,
    mail: 'pending',
    mailError: null,
    reminderAt: null,
    reminder: 'off',
    reminderEmailId: null,
    outcome: null,
    rejection: null,
  };
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
  // R7: staff re-send an exact copy from the email log while the invitation waits. Refused
  // (without a trace in history) once the workflow knows the invitation has ended.
  const mailStep = createMailStep(mail);
  setHandler(resendUpdate, (request) => mailStep.resend(request), {
    validator: (_request) => {
      if (state.outcome !== null || state.phase === 'expiring' || state.phase === 'closed') throw resendRefused(state.outcome);
    },
  });
  // Usually finds what the API registered right after starting us; registers it otherwise.
  let registration: Registration;
  try {
    registration = await db.registerInvitedUser({ ...input, expiresAt: state.expiresAt });
  } catch (error) {
    const rejection = businessFailure(error);
    if (rejection.type === 'RecordGone') log.error('the invitation record is gone; ending without changing anything', { invitationId: input.invitationId });
    state.rejection = rejection.type ?? 'Rejected';
    state.phase = 'closed';
    state.outcome = rejection.type === 'RecordGone' ? 'gone' : 'rejected';
    setStatus(input, state.outcome);
    await condition(allHandlersFinished);
    return state;
  }
  // The database's deadline is the one links are checked against.
  state.expiresAt = registration.invitation.expiresAt;
  const expiresAt = Date.parse(state.expiresAt);
  if (input.reminderMs && expiresAt - input.reminderMs > Date.now()) {
    state.reminderAt = new Date(expiresAt - input.reminderMs).toISOString();
    state.reminder = 'scheduled';
  }

  state.phase = 'sending';
  // Revoked or deleted while registering: no mail with a dead link.
  if (state.outcome === null) {
    const prepared = await db.prepareInvitationEmail({ invitationId: input.invitationId });
    if (!prepared) {
      state.mail = 'skipped';
    } else {
      state.emailId = prepared.emailId;
      // A failed mail leaves the invitation standing: staff see it in the email log and resend.
      const delivered = await mailStep.deliver(prepared.emailId);
      state.mail = delivered.mail;
      if (delivered.mail === 'failed') state.mailError = delivered.error;
    }
  } else {
    state.mail = 'skipped';
  }

  state.phase = 'waiting';
  if (state.reminderAt !== null) {
    const untilReminder = Date.parse(state.reminderAt) - Date.now();
    if (await condition(() => state.outcome !== null, Math.max(untilReminder, 0))) state.reminder = 'skipped';
    else await remind(state, mailStep);
  }
  // From the absolute deadline: a slow reminder delivery never lengthens the lifetime.
  const remaining = Date.parse(state.expiresAt) - Date.now();
  if (!(await condition(() => state.outcome !== null, Math.max(remaining, 0)))) {
    state.phase = 'expiring';
    // The record may already say accepted (an accept whose signal was lost): it wins.
    try {
      end(await db.expireInvitation({ invitationId: input.invitationId }));
    } catch (error) {
      if (businessFailure(error).type !== 'RecordGone') throw error;
      log.error('the invitation record is gone; ending without changing anything', { invitationId: input.invitationId });
      end('gone');
    }
  }
  setStatus(input, state.outcome!);
  state.phase = 'closed';
  // Copies already logged still get their delivery attempt (it skips them if the link died).
  await condition(() => allHandlersFinished() && mailStep.idle());
  return state;
}

/** One reminder with the invitation's own link, through the same durable mail step. */
async function remind(state: InvitationState, mailStep: ReturnType<typeof createMailStep>) {
  state.reminder = 'sending';
  const prepared = await db.prepareInvitationReminder({ invitationId: state.invitationId });
  if (!prepared) {
    state.reminder = 'skipped';
    return;
  }
  state.reminderEmailId = prepared.emailId;
  // Like the invitation mail: a failure leaves the invitation standing, the log shows it.
  const delivered = await mailStep.deliver(prepared.emailId);
  state.reminder = delivered.mail;
}

function setStatus(input: InvitationWorkflowInput, status: string) {
  if (input.indexed !== false) upsertSearchAttributes([{ key: searchAttributes.invitationStatus, value: status }]);
}

function resendRefused(outcome: InvitationOutcome | null): ApplicationFailure {
  if (outcome === 'accepted') return ApplicationFailure.create({ type: 'InvitationAlreadyAccepted', message: 'The invitation was already accepted.', nonRetryable: true });
  if (outcome === null || outcome === 'expired') {
    return ApplicationFailure.create({ type: 'InvitationExpired', message: 'The invitation has expired. Delete the user or overwrite its username and email, then invite anew (R11).', nonRetryable: true });
  }
  return ApplicationFailure.create({ type: 'InvitationNotPending', message: `The invitation has ended (${outcome}).`, nonRetryable: true });
}
