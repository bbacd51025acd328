import { findInvitationById } from '../invitations/invitation.repository.js';
import { findEmailByKey } from '../mail/email-log.repository.js';
import { logLinkMail, renderLinkMail, tokenOfLink } from '../links/link-mail.js';
import { lockAccount } from '../users/account-status.js';
import { findUserById } from '../users/user.repository.js';
import { openOrDescribe } from '../mail/sealed-values.js';
import type { ActivityDeps } from './index.js';

export function createInvitationReminderActivities({ db, secretBox, config }: ActivityDeps) {
  return {
    /**
     * Renders the reminder (its own editable template) with the link of the invitation mail,
     * decrypted from the log: a reminder never mints a second link. It goes to the address the
     * invitation went to, so the link reaches no mailbox it was not sent to before. Logged as
     * `queued`, keyed by the invitation: a retry reuses it. Null when there is nothing to
     * remind of any more (accepted, revoked, deleted, lapsed, or no invitation mail).
     */
    async prepareInvitationReminder({ invitationId }: { invitationId: string }): Promise<{ emailId: string } | null> {
      const key = `invitation_reminder:${invitationId}`;
      const logged = await findEmailByKey(db, key);
      if (logged) return { emailId: logged.id };
      const invitationMail = await findEmailByKey(db, `invitation:${invitationId}`);
      const invitation = await findInvitationById(db, invitationId);
      if (!invitationMail?.link_ciphertext || !isOpen(invitation)) return null;
      const found = await findUserById(db, invitation.user_id);
      if (!found || found.status !== 'invited') return null;
      // A link no listed key opens is counted and named like the mail step's (issue 19.2);
      // retried, since another worker may hold the key while a rotation is under way.
      const opened = openOrDescribe(secretBox, invitationMail.link_ciphertext, 'email_link');
      if ('error' in opened) throw new Error(opened.error);
      const link = opened.value;
      // Rendered before the transaction, so no lock is held while React works.
      const { rendered, templateVersion } = await renderLinkMail(db, config, 'invitation_reminder', {
        locale: invitationMail.locale,
        username: found.username,
        link,
        expiresAt: new Date(invitation.expires_at).toISOString(),
      });
      return db.transaction().execute(async (tx) => {
        await lockAccount(tx, found.id); // user first, like every other path: no deadlocks
        const current = await findInvitationById(tx, invitationId);
        const user = await findUserById(tx, found.id);
        if (!isOpen(current) || user?.status !== 'invited') return null;
        if (user.username !== found.username) throw new Error('the user was renamed while the reminder was rendered; render again');
        return logLinkMail(tx, secretBox, {
          idempotencyKey: key,
          type: 'invitation_reminder',
          userId: user.id,
          invitationId,
          locale: invitationMail.locale,
          to: invitationMail.to_address,
          link,
          token: tokenOfLink(link),
          rendered,
          templateVersion,
        });
      });
    },
  };
}

function isOpen<T extends { status: string; expires_at: Date }>(invitation: T | undefined): invitation is T {
  return invitation?.status === 'pending' && new Date(invitation.expires_at).getTime() > Date.now();
}
