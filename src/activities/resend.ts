import { ApplicationFailure } from '@temporalio/activity';
import { recordAudit } from '../audit/audit.repository.js';
import { findEmailById, findEmailByKey, insertEmail, recentCopies } from '../mail/email-log.repository.js';
import { findLinkState } from '../mail/link-state.repository.js';
import { resendKey, resendRefusal } from '../mail/resend-rules.js';
import { lockAccount } from '../users/account-status.js';
import type { ResendRequest, ResendResult } from '../workflows/mail.messages.js';
import type { ActivityDeps } from './index.js';

export function createResendActivities({ db, config }: ActivityDeps) {
  return {
    /**
     * Logs an exact copy of a mail (R7): the original's recipient (even if the user's address
     * changed since), subject, bodies and encrypted link, unchanged; only the row is new, with
     * `resent_from`. Keyed by the idempotency key: a retry or a double click finds its copy.
     * Refused with a typed failure once the link is dead, decided under the user's lock so an
     * accept or revoke committing at the same moment is seen.
     */
    async prepareResend(request: ResendRequest): Promise<ResendResult> {
      const key = resendKey(request.idempotencyKey);
      return db.transaction().execute(async (tx) => {
        const original = await findEmailById(tx, request.originalEmailId);
        if (!original) throw ApplicationFailure.nonRetryable(`No email ${request.originalEmailId}.`, 'EmailNotFound');
        await lockAccount(tx, original.user_id);
        const existing = await findEmailByKey(tx, key);
        if (existing) {
          if (existing.resent_from !== original.id) throw keyReused();
          return { emailId: existing.id };
        }
        const link = await findLinkState(tx, original);
        if (!link.alive) {
          const refusal = resendRefusal(original, link.reason);
          throw ApplicationFailure.create({ type: refusal.type, message: refusal.message, nonRetryable: true });
        }
        // Mail bombing (issue 15.3): counted here, under the user's and the recipient's locks and in
        // the transaction that logs the copy, so parallel requests and several API processes
        // cannot pass the limit together. A replayed key returned its copy above, uncounted.
        const copies = await recentCopies(tx, original, config.RESEND_LIMIT_WINDOW);
        if (copies.ofMail >= config.RESEND_LIMIT_PER_EMAIL) throw resendLimited('per_email', config.RESEND_LIMIT_PER_EMAIL, 'this mail', copies.mailFreesInSeconds, config.RESEND_LIMIT_WINDOW);
        if (copies.toRecipient >= config.RESEND_LIMIT_PER_RECIPIENT) {
          throw resendLimited('per_recipient', config.RESEND_LIMIT_PER_RECIPIENT, 'this recipient', copies.recipientFreesInSeconds, config.RESEND_LIMIT_WINDOW);
        }
        const copy = await insertEmail(tx, {
          id: crypto.randomUUID(),
          idempotency_key: key,
          user_id: original.user_id,
          invitation_id: original.invitation_id,
          password_reset_id: original.password_reset_id,
          type: original.type,
          locale: original.locale,
          to_address: original.to_address,
          subject: original.subject,
          html_redacted: original.html_redacted,
          text_redacted: original.text_redacted,
          // The same sealed link: the copy carries the very link of the original, never a new one.
          link_ciphertext: original.link_ciphertext,
          status: 'queued',
          resent_from: original.id,
          // Rendered once, from the original's template: later edits never reach a copy.
          template_version: original.template_version,
        });
        await recordAudit(tx, { actor: { name: request.actor ?? 'api', key: request.actorKey ?? null }, action: 'email.resent', userId: original.user_id, details: { emailId: copy.id, resentFrom: original.id } });
        return { emailId: copy.id };
      });
    },
  };
}

function keyReused() {
  return ApplicationFailure.create({
    type: 'ValidationFailed',
    message: 'This Idempotency-Key was already used to re-send another mail.',
    nonRetryable: true,
    details: [{ errors: [{ field: 'Idempotency-Key', message: 'was already used for another mail' }] }],
  });
}

function resendLimited(limit: 'per_email' | 'per_recipient', max: number, what: string, freesInSeconds: number, windowMs: number) {
  const retryAfterSeconds = Math.max(1, Math.ceil(freesInSeconds));
  return ApplicationFailure.create({
    type: 'ResendLimited',
    message: `At most ${max} copies of ${what} within ${Math.round(windowMs / 60_000)} minutes; the next one is possible in ${retryAfterSeconds} s.`,
    nonRetryable: true,
    details: [{ limit, retryAfterSeconds }],
  });
}
