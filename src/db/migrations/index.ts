import type { Migration } from 'kysely';
import * as initial from './2026-11-25T1200-initial.js';
import * as passwordResets from './2026-11-25T1300-password-resets-and-reactivation.js';
import * as smtpResponse from './2026-11-25T1400-smtp-response.js';
import * as invitationLinkAddress from './2026-11-26T0900-invitation-link-address.js';
import * as usernameSkeleton from './2026-11-26T1000-username-skeleton.js';
import * as emailLogAndResend from './2026-11-26T1100-email-log-and-resend.js';
import * as emailTemplates from './2026-11-26T1200-email-templates.js';
import * as webhooks from './2026-11-27T0100-webhooks.js';
import * as bulkInvitations from './2026-11-27T0200-bulk-invitations.js';
import * as apiKeysAndAuditTrail from './2026-11-27T0300-api-keys-and-audit-trail.js';
import * as emailEncryptionKeys from './2026-12-05T0700-email-encryption-keys.js';
import * as consoleSessions from './2026-12-05T1200-console-sessions.js';
import * as webhookAttemptLease from './2026-12-05T1200-webhook-attempt-lease.js';
import * as webhookSecretOverlap from './2026-12-05T1700-webhook-secret-overlap.js';
import * as webhookEventsNotify from './2026-12-05T1300-webhook-events-notify.js';
import * as resendLimits from './2026-12-05T1400-resend-limits.js';
import * as userMetadata from './2026-12-05T1500-user-metadata.js';
import * as invitationRedirectUrl from './2026-12-05T1600-invitation-redirect-url.js';

/** Explicit, ordered list: a migration exists when it is listed here, not when a file appears. */
export const migrations: Record<string, Migration> = {
  '2026-11-25T1200-initial': initial,
  '2026-11-25T1300-password-resets-and-reactivation': passwordResets,
  '2026-11-25T1400-smtp-response': smtpResponse,
  '2026-11-26T0900-invitation-link-address': invitationLinkAddress,
  '2026-11-26T1000-username-skeleton': usernameSkeleton,
  '2026-11-26T1100-email-log-and-resend': emailLogAndResend,
  '2026-11-26T1200-email-templates': emailTemplates,
  '2026-11-27T0100-webhooks': webhooks,
  '2026-11-27T0200-bulk-invitations': bulkInvitations,
  '2026-11-27T0300-api-keys-and-audit-trail': apiKeysAndAuditTrail,
  '2026-12-05T0700-email-encryption-keys': emailEncryptionKeys,
  '2026-12-05T1200-console-sessions': consoleSessions,
  '2026-12-05T1200-webhook-attempt-lease': webhookAttemptLease,
  '2026-12-05T1300-webhook-events-notify': webhookEventsNotify,
  '2026-12-05T1400-resend-limits': resendLimits,
  '2026-12-05T1500-user-metadata': userMetadata,
  '2026-12-05T1600-invitation-redirect-url': invitationRedirectUrl,
  '2026-12-05T1700-webhook-secret-overlap': webhookSecretOverlap,
};
