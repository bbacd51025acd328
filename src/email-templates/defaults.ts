import { invitationReminderStrings, invitationStrings, passwordResetStrings, type LinkMailStrings, type Locale } from '../../emails/i18n.js';
import { linkVariable, type TemplateType } from './variables.js';

const builtIn: Record<TemplateType, Record<Locale, LinkMailStrings>> = {
  user_invitation: invitationStrings,
  password_reset: passwordResetStrings,
  invitation_reminder: invitationReminderStrings,
};

/**
 * The built-in mail written in the template format, from the same strings the React Email
 * component uses: what staff start from when they customise, and what GET shows before that.
 */
export function builtInTemplate(type: TemplateType, locale: Locale): { subject: string; body: string } {
  const t = builtIn[type][locale];
  const link = `{{${linkVariable[type]}}}`;
  const p = (text: string) => `<p>${escapeText(text)}</p>`;
  return {
    subject: t.subject('{{productName}}'),
    body: [
      p(t.greeting('{{username}}')),
      p(t.body('{{productName}}')),
      `<p><a class="button" href="${link}">${escapeText(t.button)}</a></p>`,
      p(t.validUntil('{{expiresAt}}')),
      p(t.copyLink),
      `<p><a href="${link}">${link}</a></p>`,
      '<hr />',
      p(t.ignore),
    ].join('\n'),
  };
}

// Text between tags, not attribute values: quotes and apostrophes stay readable.
const escapeText = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
