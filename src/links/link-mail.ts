import { ApplicationFailure } from '@temporalio/common';
import type { RenderedEmail } from '../../emails/render.js';
import type { Queryable } from '../db/database.js';
import type { EmailType, Locale } from '../db/schema.js';
import { insertEmail, redactLink } from '../mail/email-log.repository.js';
import type { SecretBox } from '../mail/secret-box.js';
import { renderCurrentTemplate } from '../email-templates/render.js';
import type { TemplateType } from '../email-templates/variables.js';
import { newToken, type TokenPurpose } from './tokens.js';

/** Where each purpose's link lands: the page that posts the token from the fragment. */
const pages: Record<TokenPurpose, string> = { invitation: '/invitations/accept', password_reset: '/password/reset' };

/**
 * A new personal link: the token travels in the fragment (security.md 4), the page speaks
 * the invitee's language, and the base is PUBLIC_BASE_URL, never a request's Host.
 */
export function mintLink(baseUrl: string, purpose: TokenPurpose, locale: Locale): { token: string; link: string } {
  const token = newToken();
  return { token, link: `${baseUrl}${pages[purpose]}?lang=${locale}#token=${token}` };
}

/** The token of a link minted here (for a mail that carries an already logged link again). */
export function tokenOfLink(link: string): string {
  return new URL(link).hash.replace(/^#token=/, '');
}

/**
 * Renders a link mail from the template in force for its type, with the platform's values.
 * Done before the caller's transaction, so no lock is held while React works.
 */
export function renderLinkMail(
  db: Queryable,
  config: { PLATFORM_TIMEZONE: string; PRODUCT_NAME: string },
  type: TemplateType,
  values: { locale: Locale; username: string; link: string; expiresAt: string },
) {
  return renderCurrentTemplate(db, type, { ...values, timeZone: config.PLATFORM_TIMEZONE, productName: config.PRODUCT_NAME });
}

/**
 * Logs a mail that carries a personal link, as `queued`: bodies with the link replaced by a
 * placeholder, the link itself encrypted, so an exact copy can be sent later (R7) while no
 * usable token lies in the database in plaintext (security.md 7).
 */
export async function logLinkMail(
  tx: Queryable,
  secretBox: SecretBox,
  mail: {
    idempotencyKey: string;
    type: EmailType;
    userId: string;
    invitationId: string | null;
    /** The reset link's row, for a password-reset mail (its liveness is checked before each send). */
    passwordResetId?: string | null;
    locale: Locale;
    to: string;
    link: string;
    token: string;
    rendered: RenderedEmail;
    /** The template version it was rendered from; null for the built-in. */
    templateVersion: number | null;
  },
): Promise<{ emailId: string }> {
  const html = redactLink(mail.rendered.html, mail.link);
  const text = redactLink(mail.rendered.text, mail.link);
  if (html.includes(mail.token) || text.includes(mail.token)) {
    // A template that mangles the link would otherwise leak the token into the log.
    throw ApplicationFailure.nonRetryable('the rendered mail spells the link in an unexpected way', 'TemplateError');
  }
  const email = await insertEmail(tx, {
    id: crypto.randomUUID(),
    idempotency_key: mail.idempotencyKey,
    user_id: mail.userId,
    invitation_id: mail.invitationId,
    password_reset_id: mail.passwordResetId ?? null,
    type: mail.type,
    locale: mail.locale,
    to_address: mail.to,
    subject: mail.rendered.subject,
    html_redacted: html,
    text_redacted: text,
    link_ciphertext: secretBox.seal(mail.link),
    status: 'queued',
    template_version: mail.templateVersion,
  });
  return { emailId: email.id };
}
