import { Button, Hr, Link, Section, Text } from '@react-email/components';
import { formatExpiry, type LinkMailStrings, type Locale } from '../i18n.js';
import { MailFrame, mailStyles as styles } from './mail-frame.js';

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

/** The layout every built-in mail with a personal link shares: greeting, button, expiry, plain link. */
export function LinkMail({ strings: t, locale, username, url, expiresAt, timeZone, productName }: LinkMailProps) {
  return (
    <MailFrame locale={locale} heading={t.subject(productName)} preview={t.preview(productName)}>
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
    </MailFrame>
  );
}
