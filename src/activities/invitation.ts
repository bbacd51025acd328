import { ApplicationFailure, log } from '@temporalio/activity';
import { recordsGone } from '../metrics.js';
import { recordAudit } from '../audit/audit.repository.js';
import { DomainError } from '../errors.js';
import { expireInvitation as expireInvitationRow, findInvitationById, insertInvitation, setInvitationLink } from '../invitations/invitation.repository.js';
import { hashToken } from '../links/tokens.js';
import { canonicalEmail, canonicalUsername } from '../users/identity.js';
import { lockAccount } from '../users/account-status.js';
import { findUserById, insertUser } from '../users/user.repository.js';
import { findEmailByKey } from '../mail/email-log.repository.js';
import { logLinkMail, mintLink, renderLinkMail } from '../links/link-mail.js';
import type { InvitationWorkflowInput, Registration } from '../workflows/invitation.messages.js';
import type { ActivityDeps } from './index.js';

export function createInvitationActivities({ db, secretBox, config }: ActivityDeps) {
  return {
    /**
     * Creates the invited user and its invitation (R1, R2). Idempotent on the user id, which
     * the workflow id is derived from: a retry after a crash finds the row it wrote before.
     */
    async registerInvitedUser(input: InvitationWorkflowInput & { expiresAt: string }): Promise<Registration> {
      const existing = await findUserById(db, input.userId);
      if (existing) {
        const invitation = await findInvitationById(db, input.invitationId);
        if (!invitation) throw gone('registerInvitedUser', `the invitation ${input.invitationId} of user ${input.userId} is gone`);
        return registrationOf(existing, input.invitationId, invitation.expires_at);
      }
      const email = canonicalEmail(input.email);
      if (!email.ok) throw ApplicationFailure.nonRetryable(`email ${email.problem}`, 'ValidationFailed');
      try {
        return await db.transaction().execute(async (tx) => {
          const user = await insertUser(tx, {
            id: input.userId,
            username: input.username.normalize('NFC'),
            username_key: canonicalUsername(input.username),
            email: input.email.trim(),
            email_key: email.value,
            user_type: input.userType,
            is_staff: input.isStaff,
            permissions: input.permissions,
            locale: input.locale,
            status: 'invited',
            updated_at: new Date(),
            created_by: input.invitedBy,
          });
          await insertInvitation(tx, {
            id: input.invitationId,
            user_id: user.id,
            workflow_id: `invitation-${user.id}`,
            status: 'pending',
            expires_at: input.expiresAt,
            created_by: input.invitedBy,
            invited_username_key: user.username_key,
            invited_email_key: user.email_key,
            request_fingerprint: input.requestFingerprint ?? null,
          });
          await recordAudit(tx, {
            actor: input.invitedBy,
            action: 'user.invited',
            userId: user.id,
            details: { invitationId: input.invitationId, userType: input.userType, isStaff: input.isStaff, expiresAt: input.expiresAt },
          });
          return registrationOf(user, input.invitationId, input.expiresAt);
        });
      } catch (error) {
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
      const invitation = await findInvitationById(db, invitationId);
      const found = invitation && (await findUserById(db, invitation.user_id));
      if (!invitation || !found || invitation.status !== 'pending') return null;
      // Rendered before the transaction, so no lock is held while React works.
      const { token, link } = mintLink(config.PUBLIC_BASE_URL, 'invitation', found.locale);
      const { rendered, templateVersion } = await renderLinkMail(db, config, 'user_invitation', {
        locale: found.locale,
        username: found.username,
        link,
        expiresAt: new Date(invitation.expires_at).toISOString(),
      });
      return db.transaction().execute(async (tx) => {
        await lockAccount(tx, found.id); // user first, like every other path: no deadlocks
        const user = await findUserById(tx, found.id);
        const current = await findInvitationById(tx, invitationId);
        if (!user || current?.status !== 'pending') return null;
        if (user.username !== found.username || user.locale !== found.locale || user.email !== found.email) {
          throw new Error('the user was edited while the mail was rendered; render again');
        }
        await setInvitationLink(tx, invitationId, hashToken('invitation', token), user.email_key);
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
      return db.transaction().execute(async (tx) => {
        const outcome = await expireInvitationRow(tx, invitationId);
        if (outcome === 'gone') throw gone('expireInvitation', `the invitation ${invitationId} is gone`);
        if (outcome === 'expired') {
          const invitation = await findInvitationById(tx, invitationId);
          await recordAudit(tx, { actor: 'system', action: 'invitation.expired', userId: invitation!.user_id, details: { invitationId } });
        }
        return outcome;
      });
    },
  };
}

function registrationOf(
  user: { id: string; username: string; email: string; status: string },
  invitationId: string,
  expiresAt: Date | string,
): Registration {
  return {
    user: { id: user.id, username: user.username, email: user.email, status: user.status },
    invitation: { id: invitationId, expiresAt: new Date(expiresAt).toISOString() },
  };
}

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
