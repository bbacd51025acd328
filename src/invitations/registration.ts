import { recordAudit } from '../audit/audit.repository.js';
import type { Database } from '../db/database.js';
import type { UserRow } from '../db/schema.js';
import { DomainError } from '../errors.js';
import { canonicalEmail, canonicalUsername } from '../users/identity.js';
import { findUserByIdEvenDeleted, insertUserUnlessIdExists, lockUserIdForRegistration } from '../users/user.repository.js';
import type { InvitationWorkflowInput, Registration } from '../workflows/invitation.messages.js';
import { findInvitationById, findInvitationWithUser, insertInvitation, type InvitationSummary } from './invitation.repository.js';

export type RegistrationInput = InvitationWorkflowInput & { expiresAt: string };

/**
 * Creates the invited user, its invitation and the audit row in one transaction (R1, R2), or
 * finds them when they already exist under these ids. Two callers race for it on purpose: the
 * API, right after it started the invitation workflow (so that it can answer at once), and
 * the workflow's first step (so that an API that died after the start still leaves a user
 * with its workflow). Whoever commits first wins; the other finds the same rows. A name or
 * address taken meanwhile fails both the same way (the unique indexes decide), so the API's
 * 409 and the workflow's `rejected` always agree.
 */
export async function registerInvitedUser(
  db: Database,
  input: RegistrationInput,
  /** The workflow's step: the API usually registered already, so one read settles it without a transaction. */
  options: { probablyExists?: boolean } = {},
): Promise<{ registration: Registration; created: boolean; user: UserRow; invitation: InvitationSummary }> {
  if (options.probablyExists) {
    const found = await findInvitationWithUser(db, input.invitationId);
    if (found && found.user.id === input.userId) return { registration: registrationOf(found.user, found.invitation), created: false, ...found };
  }
  const email = canonicalEmail(input.email);
  if (!email.ok) throw new DomainError('ValidationFailed', `email ${email.problem}`);
  return db.transaction().execute(async (tx) => {
    // The other caller may be registering this id right now: wait for its commit, then find its rows.
    await lockUserIdForRegistration(tx, input.userId);
    const user = await insertUserUnlessIdExists(tx, {
      id: input.userId,
      username: input.username.normalize('NFC'),
      username_key: canonicalUsername(input.username),
      email: input.email.trim(),
      email_key: email.value,
      user_type: input.userType,
      is_staff: input.isStaff,
      permissions: input.permissions,
      locale: input.locale,
      metadata: input.metadata ?? {},
      status: 'invited',
      updated_at: new Date(),
      created_by: input.invitedBy,
    });
    if (!user) {
      // The other caller was first (its transaction committed before our insert could).
      const existing = await findUserByIdEvenDeleted(tx, input.userId);
      const invitation = await findInvitationById(tx, input.invitationId);
      if (!existing || !invitation) throw new DomainError('RecordGone', `the invitation ${input.invitationId} of user ${input.userId} is gone`);
      return { registration: registrationOf(existing, invitation), created: false, user: existing, invitation };
    }
    const invitation = await insertInvitation(tx, {
      id: input.invitationId,
      user_id: user.id,
      workflow_id: `invitation-${user.id}`,
      status: 'pending',
      expires_at: input.expiresAt,
      created_by: input.invitedBy,
      invited_username_key: user.username_key,
      invited_email_key: user.email_key,
      request_fingerprint: input.requestFingerprint ?? null,
      redirect_url: input.redirectUrl ?? null,
    });
    await recordAudit(tx, {
      actor: { name: input.invitedBy ?? 'api', key: input.invitedVia ?? null },
      action: 'user.invited',
      userId: user.id,
      details: { invitationId: input.invitationId, userType: input.userType, isStaff: input.isStaff, expiresAt: input.expiresAt },
    });
    return { registration: registrationOf(user, invitation), created: true, user, invitation };
  });
}

function registrationOf(user: UserRow, invitation: InvitationSummary): Registration {
  return {
    user: { id: user.id, username: user.username, email: user.email, status: user.status },
    invitation: { id: invitation.id, expiresAt: new Date(invitation.expires_at).toISOString() },
  };
}
