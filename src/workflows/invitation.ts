import {
  ApplicationFailure,
  CancellationScope,
  allHandlersFinished,
  condition,
  isCancellation,
  log,
  patched,
  proxyLocalActivities,
  setHandler,
  upsertSearchAttributes,
} from '@temporalio/workflow';
import type { createActivities } from '../activities/index.js';
import { businessFailure, createMailStep, mailActivities } from './mail-step.js';
import { resendUpdate } from './mail.messages.js';
import { acceptedSignal, revokedSignal, searchAttributes, stateQuery, userDeletedSignal, usernameChangedSignal, type InvitationOutcome, type InvitationState, type InvitationWorkflowInput, type Registration } from './invitation.messages.js';

type Activities = ReturnType<typeof createActivities>;
type MailStep = ReturnType<typeof createMailStep>;

// Database steps: quick, retried through short outages; business failures are non-retryable.
// Local activities: they run in the worker that runs the workflow task, without a round trip
// through the server per step (docs/benchmarks.md, runs H and I). They run again if that
// task is retried, which each of them tolerates: register finds its rows by id, the mail is
// logged under a key (no second link), and expiry is a conditional update.
const db = proxyLocalActivities<Activities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute' },
});

// Preparing a mail beside the deadline: a retry waits on a durable timer, not inside the
// workflow task, so the deadline's timer is seen as soon as it fires (a local activity
// retried in the worker holds the task until its next heartbeat, seconds later).
const preparation = proxyLocalActivities<Activities>({
  startToCloseTimeout: '30 seconds',
  localRetryThreshold: '1 second',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute' },
});

// The expiry step retries at most 5 s apart: after an outage the user is inactive within
// seconds of the database answering again, not a minute later.
const expiry = proxyLocalActivities<Activities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '5 seconds' },
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
  // Workflows started before the deadline stopped waiting for the mail replay the old order.
  if (!patched('deadline-independent-of-mail')) {
    await sendThenWait(state, mailStep);
  } else {
    // The mail and the reminder run beside the deadline: a step that cannot succeed (a wrong
    // EMAIL_ENCRYPTION_KEY, a template that no longer renders, SMTP down for days) leaves the
    // mail `failed` or pending in the log, never the user `invited` past the deadline.
    const preparing = new CancellationScope();
    const mailing = sendAndRemind(state, mailStep, preparing);
    await condition(() => state.outcome !== null, Math.max(Date.parse(state.expiresAt) - Date.now(), 0));
    if (state.outcome === null) await expire(state);
    // Abandon a preparation still retrying; a delivery already under way finishes (it skips a dead link).
    preparing.cancel();
    await mailing;
  }
  setStatus(input, state.outcome!);
  state.phase = 'closed';
  // Copies already logged still get their delivery attempt (it skips them if the link died).
  await condition(() => allHandlersFinished() && mailStep.idle());
  return state;
}

/** The order of workflows started before `deadline-independent-of-mail`: mail, reminder, then the deadline. */
async function sendThenWait(state: InvitationState, mailStep: MailStep) {
  // Revoked or deleted while registering: no mail with a dead link.
  if (state.outcome === null) await sendInvitationMail(state, mailStep, () => db.prepareInvitationEmail({ invitationId: state.invitationId }));
  else state.mail = 'skipped';

  state.phase = 'waiting';
  if (state.reminderAt !== null) {
    const untilReminder = Date.parse(state.reminderAt) - Date.now();
    if (await condition(() => state.outcome !== null, Math.max(untilReminder, 0))) state.reminder = 'skipped';
    else await remind(state, mailStep);
  }
  // From the absolute deadline: a slow reminder delivery never lengthens the lifetime.
  const remaining = Date.parse(state.expiresAt) - Date.now();
  if (!(await condition(() => state.outcome !== null, Math.max(remaining, 0)))) await expire(state);
}

/**
 * The invitation mail, then the reminder when it is due; never throws. What cannot be
 * prepared is in the workflow's state (Temporal UI's query), its log, and the worker's
 * activity failure metric; a failed delivery is in the email log, where staff resend it.
 */
async function sendAndRemind(state: InvitationState, mailStep: MailStep, preparing: CancellationScope) {
  if (state.outcome !== null) {
    state.mail = 'skipped';
  } else {
    state.phase = 'sending';
    try {
      await sendInvitationMail(state, mailStep, () => preparing.run(() => preparation.prepareInvitationEmail({ invitationId: state.invitationId })));
    } catch (error) {
      if (isCancellation(error)) {
        state.mail = 'skipped';
        log.warn('the invitation ended before its mail could be prepared', { invitationId: state.invitationId });
      } else {
        state.mail = 'failed';
        state.mailError = businessFailure(error).message;
        log.error('the invitation mail could not be prepared; the invitation still ends at its deadline', { invitationId: state.invitationId, error: state.mailError });
      }
      if (state.phase === 'sending') state.phase = 'waiting';
      return;
    }
  }
  if (state.phase === 'sending') state.phase = 'waiting';
  if (state.reminderAt === null) return;
  if (await condition(() => state.outcome !== null, Math.max(Date.parse(state.reminderAt) - Date.now(), 0))) {
    state.reminder = 'skipped';
    return;
  }
  try {
    await remind(state, mailStep, preparing);
  } catch (error) {
    state.reminder = isCancellation(error) ? 'skipped' : 'failed';
    if (!isCancellation(error)) log.error('the reminder could not be prepared', { invitationId: state.invitationId, error: businessFailure(error).message });
  }
}

/** Logs the invitation mail (null: the invitation ended first) and delivers it. */
async function sendInvitationMail(state: InvitationState, mailStep: MailStep, prepare: () => Promise<{ emailId: string } | null>) {
  const prepared = await prepare();
  if (!prepared) {
    state.mail = 'skipped';
    return;
  }
  state.emailId = prepared.emailId;
  // A failed mail leaves the invitation standing: staff see it in the email log and resend.
  const delivered = await mailStep.deliver(prepared.emailId);
  state.mail = delivered.mail;
  if (delivered.mail === 'failed') state.mailError = delivered.error;
}

/** The deadline passed: the record decides; it may already say accepted (an accept whose signal was lost). */
async function expire(state: InvitationState) {
  state.phase = 'expiring';
  try {
    state.outcome ??= await expiry.expireInvitation({ invitationId: state.invitationId });
  } catch (error) {
    if (businessFailure(error).type !== 'RecordGone') throw error;
    log.error('the invitation record is gone; ending without changing anything', { invitationId: state.invitationId });
    state.outcome ??= 'gone';
  }
}

/** One reminder with the invitation's own link, through the same durable mail step. */
async function remind(state: InvitationState, mailStep: MailStep, preparing?: CancellationScope) {
  state.reminder = 'sending';
  const prepared = await (preparing
    ? preparing.run(() => preparation.prepareInvitationReminder({ invitationId: state.invitationId }))
    : db.prepareInvitationReminder({ invitationId: state.invitationId }));
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
