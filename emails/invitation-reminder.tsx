import { invitationReminderStrings, type Locale } from './i18n.js';
import { LinkMail } from './components/link-mail.js';

export interface InvitationReminderEmailProps {
  locale: Locale;
  username: string;
  /** The same personal link as in the invitation mail. */
  invitationUrl: string;
  /** ISO instant */
  expiresAt: string;
  /** IANA time zone of the platform, e.g. Europe/Berlin */
  timeZone: string;
  productName: string;
}

export function InvitationReminderEmail({ invitationUrl, ...props }: InvitationReminderEmailProps) {
  return <LinkMail strings={invitationReminderStrings[props.locale]} url={invitationUrl} {...props} />;
}

InvitationReminderEmail.PreviewProps = {
  locale: 'de',
  username: 'erika.mustermann',
  invitationUrl: 'http://localhost:3000/invitations/accept?lang=de#token=AbC-_123',
  expiresAt: '2026-12-23T10:00:00.000Z',
  timeZone: 'Europe/Berlin',
  productName: 'Beispielplattform',
} satisfies InvitationReminderEmailProps;

export default InvitationReminderEmail;
