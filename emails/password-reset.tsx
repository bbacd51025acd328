import { passwordResetStrings, type Locale } from './i18n.js';
import { LinkMail } from './components/link-mail.js';

export interface PasswordResetEmailProps {
  locale: Locale;
  username: string;
  resetUrl: string;
  /** ISO instant */
  expiresAt: string;
  /** IANA time zone of the platform, e.g. Europe/Berlin */
  timeZone: string;
  productName: string;
}

export function PasswordResetEmail({ resetUrl, ...props }: PasswordResetEmailProps) {
  return <LinkMail strings={passwordResetStrings[props.locale]} url={resetUrl} {...props} />;
}

PasswordResetEmail.PreviewProps = {
  locale: 'de',
  username: 'erika.mustermann',
  resetUrl: 'http://localhost:3000/password/reset?lang=de#token=AbC-_123',
  expiresAt: '2026-12-23T10:00:00.000Z',
  timeZone: 'Europe/Berlin',
  productName: 'Beispielplattform',
} satisfies PasswordResetEmailProps;

export default PasswordResetEmail;
