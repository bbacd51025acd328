import { Body, Button, Container, Head, Heading, Hr, Html, Link, Preview, Section, Text } from '@react-email/components';
import { formatExpiry, type LinkMailStrings, type Locale } from '../i18n.js';

export interface LinkMailProps {
  strings: LinkMailStrings;
  locale: Locale;
  username: string;
  /** The personal link; shown as a button and as plain text (some clients block buttons). */
  url: string;
  /** ISO instant */
  expiresAt: string;
  /** IANA time zone of the platform, e.g. Europe/Berlin */
  timeZone: string;
  productName: string;
}

/** The layout every mail with a personal link shares: greeting, button, expiry, plain link. */
export function LinkMail({ strings: t, locale, username, url, expiresAt, timeZone, productName }: LinkMailProps) {
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
            <Button href={url} style={styles.button}>
              {t.button}
            </Button>
          </Section>
          <Text style={styles.text}>{t.validUntil(formatExpiry(expiresAt, locale, timeZone))}</Text>
          <Text style={styles.small}>{t.copyLink}</Text>
          <Text style={styles.small}>
            <Link href={url} style={styles.link}>
              {url}
            </Link>
          </Text>
          <Hr style={styles.hr} />
          <Text style={styles.small}>{t.ignore}</Text>
        </Container>
      </Body>
    </Html>
  );
}

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
