import type { EmailRow } from '../db/schema.js';
import { iso } from '../users/user.view.js';

/** A logged mail as the email log lists it (R13): what was sent to whom, and what the server said. */
export function emailSummaryView(e: EmailRow) {
  return {
    id: e.id,
    userId: e.user_id,
    invitationId: e.invitation_id,
    type: e.type,
    locale: e.locale,
    to: e.to_address,
    subject: e.subject,
    status: e.status,
    attempts: e.attempts,
    createdAt: iso(e.created_at)!,
    lastAttemptAt: iso(e.last_attempt_at),
    nextAttemptAt: e.status === 'retrying' ? iso(e.next_attempt_at) : null,
    sentAt: iso(e.sent_at),
    error: e.error,
    resentFrom: e.resent_from,
  };
}

/** One mail in full: the bodies carry the placeholder where the personal link was, never a token. */
export function emailView(e: EmailRow) {
  return {
    ...emailSummaryView(e),
    messageId: e.message_id,
    smtpResponse: e.smtp_response,
    html: e.html_redacted,
    text: e.text_redacted,
    templateVersion: e.template_version,
  };
}

/** "Did the invitation go out?" on the user view, without a second call. */
export function emailStatusView(e: EmailRow) {
  return { id: e.id, status: e.status, attempts: e.attempts, sentAt: iso(e.sent_at), nextAttemptAt: e.status === 'retrying' ? iso(e.next_attempt_at) : null, error: e.error };
}
