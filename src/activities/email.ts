import { ApplicationFailure, CancelledFailure, Context, type Info } from '@temporalio/activity';
import { parseDuration } from '../duration.js';
import { findEmailById, markFailed, markRetrying, markSent, recordAttempt, restoreLink } from '../mail/email-log.repository.js';
import { findLinkState } from '../mail/link-state.repository.js';
import { openOrDescribe } from '../mail/sealed-values.js';
import { describeSmtpFailure, isPermanentSmtpFailure } from '../mail/mailer.js';
import type { ActivityDeps } from './index.js';
import { createResendActivities } from './resend.js';

export function createEmailActivities(deps: ActivityDeps) {
  const { db, mailer, secretBox, config } = deps;
  return {
    /**
     * Sends one logged mail. At least once (security.md 20): a crash after the server
     * accepted it and before `sent` is recorded sends it again, with the same Message-ID.
     * Never once its link is dead: the check runs here, right before each attempt, so a mail
     * step that resumes after a crash or a long retry cannot deliver an expired link.
     */
    async deliverEmail({ emailId }: { emailId: string }): Promise<'sent' | 'skipped'> {
      const email = await findEmailById(db, emailId);
      if (!email) throw ApplicationFailure.nonRetryable(`email ${emailId} is not in the log`, 'EmailNotFound');
      if (email.status === 'sent') return 'sent';
      if (email.status === 'failed') throw ApplicationFailure.nonRetryable(email.error ?? 'failed before', 'MailRejected');
      // An earlier attempt had the server's 250 and then could not write it down (the database
      // went away): Temporal kept what it heartbeated, so this attempt records, never re-sends.
      const delivered = (Context.current().info.heartbeatDetails as { delivered?: { messageId: string; response: string } } | undefined)?.delivered;
      if (delivered) {
        await markSent(db, emailId, delivered.messageId, delivered.response);
        return 'sent';
      }
      const link = await findLinkState(db, email);
      if (!link.alive) {
        await markFailed(db, emailId, `not sent: the link is dead (${link.reason})`);
        return 'skipped';
      }
      const opened = email.link_ciphertext ? openOrDescribe(secretBox, email.link_ciphertext, 'email_link') : { value: '' };
      if ('error' in opened) {
        // Another worker may hold the key (a rotation under way), so this is retried like a
        // deferred mail, and the log says why now, with the true next attempt (issue 19.2).
        const delayMs = nextRetryDelayMs(Context.current().info);
        if (delayMs === undefined) {
          await markFailed(db, emailId, `not sent: ${opened.error}`);
          throw ApplicationFailure.nonRetryable(opened.error, 'MailLinkSealedUnopenable');
        }
        await markRetrying(db, emailId, opened.error, new Date(Date.now() + delayMs));
        throw ApplicationFailure.create({ message: opened.error, type: 'MailDeferred', nextRetryDelay: delayMs });
      }
      const personalLink = opened.value;
      await recordAttempt(db, emailId);
      try {
        const info = await unlessWorkerStops(
          mailer.send({
            from: config.MAIL_FROM,
            to: email.to_address,
            subject: email.subject,
            html: restoreLink(email.html_redacted, personalLink, true),
            text: restoreLink(email.text_redacted, personalLink, false),
            messageId: `<${email.id}@invitations.local>`,
          }),
        );
        // Told to Temporal before our database: if the log write below fails, the retry finds
        // this and only records it (the fault suite's postgres-cut saw a second copy otherwise).
        Context.current().heartbeat({ delivered: { messageId: info.messageId, response: info.response } });
        await markSent(db, emailId, info.messageId, info.response);
        return 'sent';
      } catch (error) {
        if (error instanceof CancelledFailure) {
          // The worker is stopping and its grace time ran out mid-attempt. Failing now (not at
          // startToClose, 2 minutes on) lets another worker retry at once; the server may have
          // the mail already, so the retry is invariant 2's duplicate with the same Message-ID.
          const reason = 'the worker stopped during the attempt; another worker tries again';
          await markRetrying(db, emailId, reason, new Date(Date.now() + RETRY_AFTER_SHUTDOWN_MS));
          throw ApplicationFailure.create({ message: reason, type: 'MailDeferred', nextRetryDelay: RETRY_AFTER_SHUTDOWN_MS });
        }
        const description = describeSmtpFailure(error);
        if (isPermanentSmtpFailure(error)) {
          await markFailed(db, emailId, description);
          throw ApplicationFailure.nonRetryable(description, 'MailRejected');
        }
        const delayMs = nextRetryDelayMs(Context.current().info);
        if (delayMs === undefined) {
          const reason = `retries ran out; last answer: ${description}`;
          await markFailed(db, emailId, reason);
          throw ApplicationFailure.nonRetryable(reason, 'MailRetriesExhausted');
        }
        await markRetrying(db, emailId, description, new Date(Date.now() + delayMs));
        // The delay we logged is the delay Temporal uses: the log's next attempt time is exact.
        throw ApplicationFailure.create({ message: description, type: 'MailDeferred', nextRetryDelay: delayMs });
      }
    },

    /** The mail step gave up (e.g. an attempt timed out with no retries left): the log says so. */
    async markEmailFailed({ emailId, error }: { emailId: string; error: string }): Promise<void> {
      await markFailed(db, emailId, error);
    },

    ...createResendActivities(deps),
  };
}

const RETRY_AFTER_SHUTDOWN_MS = 1000;

/**
 * The send, heartbeating while it runs, unless the activity is cancelled first. The
 * heartbeats let the server see a dead worker within the mail activities' heartbeat timeout
 * and retry the mail on another worker at once, instead of after startToClose; they also
 * carry the server's cancellation here. Cancelled (the worker shuts down past
 * WORKER_SHUTDOWN_GRACE_TIME, or the server timed the attempt out): the abandoned send ends
 * with the process or its own SMTP timeouts.
 */
function unlessWorkerStops<T>(send: Promise<T>): Promise<T> {
  send.catch(() => undefined); // its failure, if it comes after the race, matters to no one
  const context = Context.current();
  context.heartbeat();
  const beating = setInterval(() => context.heartbeat(), HEARTBEAT_EVERY_MS);
  return Promise.race([send, context.cancelled]).finally(() => clearInterval(beating));
}

/** Well inside the mail activities' heartbeatTimeout (src/workflows/mail-step.ts); the SDK throttles what it sends. */
const HEARTBEAT_EVERY_MS = 1000;

/**
 * Temporal's own backoff (initial × coefficient^(attempt−1), capped), or undefined when the
 * next try would fall past the policy's last attempt or the activity's schedule-to-close.
 */
export function nextRetryDelayMs(info: Pick<Info, 'attempt' | 'retryPolicy' | 'scheduledTimestampMs' | 'scheduleToCloseTimeoutMs'>, now = Date.now()): number | undefined {
  const policy = info.retryPolicy ?? {};
  const initial = toMs(policy.initialInterval) ?? 1000;
  const coefficient = policy.backoffCoefficient ?? 2;
  const maximum = toMs(policy.maximumInterval) ?? 100 * initial;
  if (policy.maximumAttempts && info.attempt >= policy.maximumAttempts) return undefined;
  const delay = Math.min(initial * coefficient ** (info.attempt - 1), maximum);
  const deadline = info.scheduleToCloseTimeoutMs > 0 ? info.scheduledTimestampMs + info.scheduleToCloseTimeoutMs : Infinity;
  return now + delay < deadline ? delay : undefined;
}

/** The worker hands the policy over in milliseconds; a string is read like configuration. */
const toMs = (value: string | number | undefined) => (typeof value === 'number' ? value : value === undefined ? undefined : parseDuration(value));
