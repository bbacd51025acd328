import { invitationStrings, type Locale } from './i18n.js';
import { LinkMail } from './components/link-mail.js';

export interface UserInvitationEmailProps {
  locale: Locale;
  username: string;
  invitationUrl: string;
  /** ISO instant */
  expiresAt: string;
  /** IANA time zone of the platform, e.g. Europe/Berlin */
  timeZone: string;
  productName: string;
}

export function UserInvitationEmail({ invitationUrl, ...props }: UserInvitationEmailProps) {
  return <LinkMail strings={invitationStrings[props.locale]} url={invitationUrl} {...props} />;
}

UserInvitationEmail.PreviewProps = {
  locale: 'de',
  username: 'erika.mustermann',
  invitationUrl: 'http://localhost:3000/invitations/accept?lang=de#token=AbC-_123',
  expiresAt: '2026-12-23T10:00:00.000Z',
  timeZone: 'Europe/Berlin',
  productName: 'Beispielplattform',
} satisfies UserInvitationEmailProps;

export default UserInvitationEmail;
