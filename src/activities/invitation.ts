import { ApplicationFailure, Context, log } from '@temporalio/activity';
import { reconcilePendingInvitations } from '../invitations/reconciliation.js';
import { createLogger } from '../log.js';
import { recordsGone } from '../metrics.js';
import { recordAudit } from '../audit/audit.repository.js';
import { SYSTEM } from '../audit/actor.js';
import { DomainError } from '../errors.js';
import { expireInvitation as expireInvitationRow, findInvitationWithUser, millisecondsUntilDue, setPendingInvitationLink } from '../invitations/invitation.repository.js';
import { registerInvitedUser, type RegistrationInput } from '../invitations/registration.js';
import { hashToken } from '../links/tokens.js';
import { lockAndReadAccount } from '../users/account-status.js';
import { findEmailByKey } from '../mail/email-log.repository.js';
import { logLinkMail, mintLink, renderLinkMail } from '../links/link-mail.js';
import type { Registration } from '../workflows/invitation.messages.js';
import type { ActivityDeps } from './index.js';

export function createInvitationActivities({ db, secretBox, config }: ActivityDeps) {
  return {
    /** One round of the reconciler: pending invitations whose workflow is gone are restarted (with the worker's client). */
    async reconcilePendingInvitations({ graceMs }: { graceMs: number }) {
      return reconcilePendingInvitations({ db, temporal: Context.current().client, config, log: createLogger(config.LOG_LEVEL) }, { graceMs });
    },

    /**
     * The workflow's first step: the user and its invitation exist (R1, R2). Usually the API
     * created them right after starting this workflow, and this only finds them; if the API
     * died in between, this creates them (src/invitations/registration.ts).
     */
    async registerInvitedUser(input: RegistrationInput): Promise<Registration> {
      try {
        return (await registerInvitedUser(db, input, { probablyExists: true })).registration;
      } catch (error) {
        if (error instanceof DomainError && error.type === 'RecordGone') throw gone('registerInvitedUser', error.message);
        if (error instanceof DomainError) {
          throw ApplicationFailure.create({ type: error.type, message: error.message, nonRetryable: true, details: [error.extra] });
        }
        throw error;
      }
    },

    /**
     * Mints the link token, renders the mail and logs it as `queued`, keyed by the invitation,
     * so a retry reuses the mail instead of minting a second link. Null when the invitation
     * ended (revoked, deleted, accepted by a reset) before there was anything to send.
     */
    async prepareInvitationEmail({ invitationId }: { invitationId: string }): Promise<{ emailId: string } | null> {
      const key = `invitation:${invitationId}`;
      const logged = await findEmailByKey(db, key);
      if (logged) return { emailId: logged.id };
      const { invitation, user: found } = (await findInvitationWithUser(db, invitationId)) ?? {};
      if (!invitation || !found || found.deleted_at !== null || invitation.status !== 'pending') return null;
      // Rendered before the transaction, so no lock is held while React works.
      const { token, link } = mintLink(config.PUBLIC_BASE_URL, 'invitation', found.locale);
      const { rendered, templateVersion } = await renderLinkMail(db, config, 'user_invitation', {
        locale: found.locale,
        username: found.username,
        link,
        expiresAt: new Date(invitation.expires_at).toISOString(),
      });
      return db.transaction().execute(async (tx) => {
        const user = await lockAndReadAccount(tx, found.id); // user first, like every other path: no deadlocks
        if (!user || user.deleted_at !== null) return null;
        if (user.username !== found.username || user.locale !== found.locale || user.email !== found.email) {
          throw new Error('the user was edited while the mail was rendered; render again');
        }
        // Only while still pending: revoked, deleted or accepted meanwhile, there is nothing to send.
        if (!(await setPendingInvitationLink(tx, invitationId, hashToken('invitation', token), user.email_key))) return null;
        return logLinkMail(tx, secretBox, {
          idempotencyKey: key,
          type: 'user_invitation',
          userId: user.id,
          invitationId,
          locale: user.locale,
          to: user.email,
          link,
          token,
          rendered,
          templateVersion,
        });
      });
    },

    /** The lifetime ran out: expire unless accepted or revoked first; the record decides (R8). */
    async expireInvitation({ invitationId }: { invitationId: string }) {
      // The database's clock decides, as it does for accept: a timer that fired a little early
      // (the worker's clock ahead) waits, so an accept the database still allows wins. A gap
      // beyond what clocks drift is not skew but a test server's skipped time or a broken
      // clock: then the durable timer is trusted, and the log says so.
      const dueInMs = await millisecondsUntilDue(db, invitationId);
      if (dueInMs !== undefined && dueInMs > 0) {
        if (dueInMs <= MAX_CLOCK_SKEW_MS) await new Promise((resolve) => setTimeout(resolve, Math.ceil(dueInMs) + 5));
        else log.warn('the expiry timer fired before the deadline by the database clock; trusting the timer', { invitationId, dueInMs });
      }
      return db.transaction().execute(async (tx) => {
        const { outcome, userId, changed } = await expireInvitationRow(tx, invitationId);
        if (outcome === 'gone') throw gone('expireInvitation', `the invitation ${invitationId} is gone`);
        // Only the run that expired it records it: a re-run reports the same outcome, silently.
        if (changed) await recordAudit(tx, { actor: SYSTEM, action: 'invitation.expired', userId: userId!, details: { invitationId } });
        return outcome;
      });
    },
  };
}

/** Within the expiry step's 30 s start-to-close, with room for its transaction. */
const MAX_CLOCK_SKEW_MS = 15_000;

/**
 * The record the step works on no longer exists (a restore from backup, a manual delete):
 * a business outcome, not a fault to retry forever. Logged and counted, so operators see
 * the database and Temporal disagree; the workflow ends with outcome `gone`.
 */
function gone(step: string, message: string): ApplicationFailure {
  recordsGone.inc({ step });
  log.error(`record gone: ${message}; the workflow ends`, { step });
  return ApplicationFailure.nonRetryable(message, 'RecordGone');
}
