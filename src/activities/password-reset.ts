import { hashToken } from '../links/tokens.js';
import { findEmailByKey } from '../mail/email-log.repository.js';
import { logLinkMail, mintLink, renderLinkMail } from '../links/link-mail.js';
import { insertReset } from '../password-resets/password-reset.repository.js';
import { killResetLinks, lockAccount, mayUseForgotPassword } from '../users/account-status.js';
import { findUserById, findUserByLoginKey } from '../users/user.repository.js';
import type { ActivityDeps } from './index.js';

export function createPasswordResetActivities({ db, secretBox, config }: ActivityDeps) {
  return {
    /**
     * Looks the address up and, if it is a user's, mints a reset link (making older ones
     * useless), renders the mail to the address stored for the user (security.md 10) and
     * logs it. Keyed by the request id, so a retry reuses the same link and mail.
     */
    async preparePasswordReset(input: { requestId: string; emailKey: string; expiresAt: string }): Promise<{ emailId: string } | null> {
      const key = `password_reset:${input.requestId}`;
      const logged = await findEmailByKey(db, key);
      if (logged) return { emailId: logged.id };
      const found = await findUserByLoginKey(db, input.emailKey);
      if (!found || found.email_key !== input.emailKey) return null;
      // Rendered before the transaction, so no lock is held while React works.
      const { token, link } = mintLink(config.PUBLIC_BASE_URL, 'password_reset', found.locale);
      const { rendered, templateVersion } = await renderLinkMail(db, config, 'password_reset', {
        locale: found.locale,
        username: found.username,
        link,
        expiresAt: input.expiresAt,
      });
      return db.transaction().execute(async (tx) => {
        // Lock the user first (like every other path), then decide on what is true now: a
        // revoke or an address change that committed meanwhile must win.
        await lockAccount(tx, found.id);
        const user = await findUserById(tx, found.id);
        if (!user || user.email_key !== input.emailKey) return null; // the address is no longer theirs
        if (user.username !== found.username || user.locale !== found.locale || user.email !== found.email) {
          throw new Error('the user was edited while the mail was rendered; render again');
        }
        // Staff withdrew this invitation: "forgot password" must not become a way around that.
        if (!mayUseForgotPassword(user)) return null;
        await killResetLinks(tx, user.id, 'superseded');
        await insertReset(tx, { id: input.requestId, user_id: user.id, token_hash: hashToken('password_reset', token), expires_at: input.expiresAt });
        return logLinkMail(tx, secretBox, {
          idempotencyKey: key,
          type: 'password_reset',
          userId: user.id,
          invitationId: null,
          passwordResetId: input.requestId,
          locale: user.locale,
          to: user.email, // the stored address, never the one typed in (security.md 10)
          link,
          token,
          rendered,
          templateVersion,
        });
      });
    },
  };
}
