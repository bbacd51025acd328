import { createElement } from 'react';
import { render, toPlainText } from '@react-email/components';
import { invitationReminderStrings, invitationStrings, passwordResetStrings } from './i18n.js';
import { InvitationReminderEmail, type InvitationReminderEmailProps } from './invitation-reminder.js';
import { PasswordResetEmail, type PasswordResetEmailProps } from './password-reset.js';
import { TemplatedMail, type TemplatedMailProps } from './components/templated-mail.js';
import { UserInvitationEmail, type UserInvitationEmailProps } from './user-invitation.js';

export interface RenderedEmail {
  subject: string;
  html: string;
  text: string;
}

// html-to-text upper-cases headings by default, which would mangle a username or product name.
// wordwrap stays off (toPlainText's default) so a long link is never broken across lines.
const textOptions = {
  selectors: [
    { selector: 'h1', options: { uppercase: false } },
    { selector: 'h2', options: { uppercase: false } },
    { selector: 'h3', options: { uppercase: false } },
  ],
};

async function renderBoth(element: Parameters<typeof render>[0], subject: string): Promise<RenderedEmail> {
  const html = await render(element);
  return { subject, html, text: toPlainText(html, textOptions).trim() };
}

export function renderInvitationEmail(props: UserInvitationEmailProps): Promise<RenderedEmail> {
  return renderBoth(createElement(UserInvitationEmail, props), invitationStrings[props.locale].subject(props.productName));
}

export function renderPasswordResetEmail(props: PasswordResetEmailProps): Promise<RenderedEmail> {
  return renderBoth(createElement(PasswordResetEmail, props), passwordResetStrings[props.locale].subject(props.productName));
}

export function renderInvitationReminderEmail(props: InvitationReminderEmailProps): Promise<RenderedEmail> {
  return renderBoth(createElement(InvitationReminderEmail, props), invitationReminderStrings[props.locale].subject(props.productName));
}

/** A customised template; the plain text is derived from the html exactly as for the built-in ones. */
export function renderTemplatedEmail(props: TemplatedMailProps): Promise<RenderedEmail> {
  return renderBoth(createElement(TemplatedMail, props), props.subject);
}
