import { formatExpiry, type Locale } from '../../emails/i18n.js';
import {
  renderInvitationEmail,
  renderInvitationReminderEmail,
  renderPasswordResetEmail,
  renderTemplatedEmail,
  type RenderedEmail,
} from '../../emails/render.js';
import type { Queryable } from '../db/database.js';
import { sanitizeBody, styleBody } from './sanitize.js';
import { currentTemplateVersion } from './template.repository.js';
import { escapeHtml, fillVariables, type TemplateType } from './variables.js';

export interface LinkMailValues {
  locale: Locale;
  username: string;
  /** The personal link. */
  link: string;
  /** ISO instant */
  expiresAt: string;
  /** IANA time zone of the platform */
  timeZone: string;
  productName: string;
}

export interface TemplateContent {
  subject: string;
  body: string;
}

function renderBuiltIn(type: TemplateType, v: LinkMailValues): Promise<RenderedEmail> {
  const common = { locale: v.locale, username: v.username, expiresAt: v.expiresAt, timeZone: v.timeZone, productName: v.productName };
  switch (type) {
    case 'user_invitation':
      return renderInvitationEmail({ ...common, invitationUrl: v.link });
    case 'password_reset':
      return renderPasswordResetEmail({ ...common, resetUrl: v.link });
    case 'invitation_reminder':
      return renderInvitationReminderEmail({ ...common, invitationUrl: v.link });
  }
}

/**
 * A customised template: sanitised as written, filled with escaped values, sanitised again
 * (a value must never turn into markup or a javascript: link either), then styled and put
 * into the React Email frame. Null content is the built-in mail.
 */
export function renderTemplate(type: TemplateType, content: TemplateContent | null, v: LinkMailValues): Promise<RenderedEmail> {
  if (!content) return renderBuiltIn(type, v);
  const values = { link: v.link, username: v.username, expiresAt: formatExpiry(v.expiresAt, v.locale, v.timeZone), productName: v.productName };
  const filled = fillVariables(type, sanitizeBody(content.body), values, escapeHtml);
  // A header line: no line breaks, whatever a value holds.
  const subject = fillVariables(type, content.subject, values, (s) => s).replace(/[\r\n\t]+/g, ' ').trim();
  return renderTemplatedEmail({ locale: v.locale, subject, safeBodyHtml: styleBody(sanitizeBody(filled)) });
}

/** Renders with the template in force now; the mail records its version (null: built-in). */
export async function renderCurrentTemplate(
  db: Queryable,
  type: TemplateType,
  values: LinkMailValues,
): Promise<{ rendered: RenderedEmail; templateVersion: number | null }> {
  const current = await currentTemplateVersion(db, type, values.locale);
  const content = current?.subject != null && current.body != null ? { subject: current.subject, body: current.body } : null;
  return { rendered: await renderTemplate(type, content, values), templateVersion: content ? current!.version : null };
}
