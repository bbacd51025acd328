import type { ReactNode } from 'react';
import { Body, Container, Head, Heading, Html, Preview } from '@react-email/components';
import type { Locale } from '../i18n.js';

export interface MailFrameProps {
  locale: Locale;
  heading: string;
  /** The inbox's preview line; left out when there is nothing better than the heading. */
  preview?: string | undefined;
  children: ReactNode;
}

/** The frame every mail shares, built-in or customised by staff: page, card, heading. */
export function MailFrame({ locale, heading, preview, children }: MailFrameProps) {
  return (
    <Html lang={locale}>
      <Head />
      {preview ? <Preview>{preview}</Preview> : null}
      <Body style={mailStyles.body}>
        <Container style={mailStyles.container}>
          <Heading as="h1" style={mailStyles.heading}>
            {heading}
          </Heading>
          {children}
        </Container>
      </Body>
    </Html>
  );
}

/** Inline styles (mail clients ignore most style sheets); customised bodies get the same ones. */
export const mailStyles = {
  body: { backgroundColor: '#f4f4f5', fontFamily: 'Helvetica, Arial, sans-serif', margin: 0, padding: '24px 0' },
  container: { backgroundColor: '#ffffff', borderRadius: '8px', maxWidth: '560px', margin: '0 auto', padding: '32px' },
  heading: { fontSize: '22px', fontWeight: 600, color: '#18181b', margin: '0 0 24px' },
  subheading: { fontSize: '17px', fontWeight: 600, color: '#18181b', margin: '24px 0 8px' },
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
