import { Body, Button, Container, Head, Heading, Hr, Html, Link, Preview, Section, Text } from '@react-email/components';
import { formatExpiry, invitationStrings, type Locale } from './i18n.js';

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

export function UserInvitationEmail(props: UserInvitationEmailProps) {
  const { locale, username, invitationUrl, expiresAt, timeZone, productName } = props;
  const t = invitationStrings[locale];
  return (
    <Html lang={locale}>
      <Head />
      <Preview>{t.preview(productName)}</Preview>
      <Body style={styles.body}>
        <Container style={styles.container}>
          <Heading as="h1" style={styles.heading}>
            {t.subject(productName)}
          </Heading>
          <Text style={styles.text}>{t.greeting(username)}</Text>
          <Text style={styles.text}>{t.body(productName)}</Text>
          <Section style={styles.buttonSection}>
            <Button href={invitationUrl} style={styles.button}>
              {t.button}
            </Button>
          </Section>
          <Text style={styles.text}>{t.validUntil(formatExpiry(expiresAt, locale, timeZone))}</Text>
          <Text style={styles.small}>{t.copyLink}</Text>
          <Text style={styles.small}>
            <Link href={invitationUrl} style={styles.link}>
              {invitationUrl}
            </Link>
          </Text>
          <Hr style={styles.hr} />
          <Text style={styles.small}>{t.ignore}</Text>
        </Container>
      </Body>
    </Html>
  );
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

const styles = {
  body: { backgroundColor: '#f4f4f5', fontFamily: 'Helvetica, Arial, sans-serif', margin: 0, padding: '24px 0' },
  container: { backgroundColor: '#ffffff', borderRadius: '8px', maxWidth: '560px', margin: '0 auto', padding: '32px' },
  heading: { fontSize: '22px', fontWeight: 600, color: '#18181b', margin: '0 0 24px' },
  text: { fontSize: '15px', lineHeight: '24px', color: '#27272a' },
  small: { fontSize: '13px', lineHeight: '20px', color: '#52525b' },
  buttonSection: { margin: '24px 0' },
  button: {
    backgroundColor: '#1d4ed8',
    borderRadius: '6px',
    color: '#ffffff',
    fontSize: '15px',
    fontWeight: 600,
    padding: '12px 20px',
    textDecoration: 'none',
  },
  link: { color: '#1d4ed8', wordBreak: 'break-all' },
  hr: { borderColor: '#e4e4e7', margin: '24px 0' },
} as const;
