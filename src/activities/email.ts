import { ApplicationFailure } from '@temporalio/activity';
import { findEmailById, markSent, recordAttempt, recordFailure, restoreLink } from '../mail/email-log.repository.js';
import { describeSmtpFailure, isPermanentSmtpFailure } from '../mail/mailer.js';
import { findInvitationById } from '../invitations/invitation.repository.js';
import type { ActivityDeps } from './index.js';

export function createEmailActivities({ db, mailer, secretBox, config }: ActivityDeps) {
  return {
    /**
     * Sends one logged mail. At least once (security.md 20): a crash after the server
     * accepted it and before `sent` is recorded sends it again, with the same Message-ID.
     */
    async deliverEmail({ emailId }: { emailId: string }): Promise<'sent' | 'skipped'> {
      const email = await findEmailById(db, emailId);
      if (!email) throw ApplicationFailure.nonRetryable(`email ${emailId} is not in the log`, 'EmailNotFound');
      if (email.status === 'sent') return 'sent';
      if (email.invitation_id) {
        // Revoked, deleted or accepted (by a reset) before the mail went out: a dead link helps nobody.
        const invitation = await findInvitationById(db, email.invitation_id);
        if (invitation?.status !== 'pending') {
          await recordFailure(db, emailId, `not sent: the invitation is ${invitation?.status ?? 'gone'}`, true);
          return 'skipped';
        }
      }
      const link = email.link_ciphertext ? secretBox.open(email.link_ciphertext) : '';
      await recordAttempt(db, emailId);
      try {
        const info = await mailer.send({
          from: config.MAIL_FROM,
          to: email.to_address,
          subject: email.subject,
          html: restoreLink(email.html_redacted, link, true),
          text: restoreLink(email.text_redacted, link, false),
          messageId: `<${email.id}@invitations.local>`,
        });
        await markSent(db, emailId, info.messageId, info.response);
        return 'sent';
      } catch (error) {
        const permanent = isPermanentSmtpFailure(error);
        const description = describeSmtpFailure(error);
        await recordFailure(db, emailId, description, permanent);
        if (permanent) throw ApplicationFailure.nonRetryable(description, 'MailRejected');
        throw error;
      }
    },

    /** Retries ran out (a day of 4xx answers or no connection): the log says so. */
    async markEmailFailed({ emailId, error }: { emailId: string; error: string }): Promise<void> {
      await recordFailure(db, emailId, error, true);
    },
  };
}
