import { renderPasswordResetEmail } from '../../emails/render.js';
import { newToken, hashToken } from '../invitations/tokens.js';
import { findEmailByKey } from '../mail/email-log.repository.js';
import { logLinkMail } from '../mail/link-mail.js';
import { revokeOpenResets } from '../passwords/password-reset.repository.js';
import { findUserByLoginKey } from '../users/user.repository.js';
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
      const user = await findUserByLoginKey(db, input.emailKey);
      if (!user || user.email_key !== input.emailKey) return null;
      // Staff withdrew this invitation: "forgot password" must not become a way around that.
      if (user.status === 'inactive' && user.deactivation_reason === 'invitation_revoked') return null;
      return db.transaction().execute(async (tx) => {
        await revokeOpenResets(tx, user.id, 'superseded');
        const token = newToken();
        await tx
          .insertInto('password_resets')
          .values({ id: input.requestId, user_id: user.id, token_hash: hashToken('password_reset', token), expires_at: input.expiresAt })
          .execute();
        const link = `${config.PUBLIC_BASE_URL}/password/reset?lang=${user.locale}#token=${token}`;
        const rendered = await renderPasswordResetEmail({
          locale: user.locale,
          username: user.username,
          resetUrl: link,
          expiresAt: input.expiresAt,
          timeZone: config.PLATFORM_TIMEZONE,
          productName: config.PRODUCT_NAME,
        });
        return logLinkMail(tx, secretBox, {
          idempotencyKey: key,
          type: 'password_reset',
          userId: user.id,
          invitationId: null,
          locale: user.locale,
          to: user.email, // the stored address, never the one typed in (security.md 10)
          link,
          token,
          rendered,
        });
      });
    },
  };
}
