import { MailFrame } from './mail-frame.js';
import type { Locale } from '../i18n.js';

export interface TemplatedMailProps {
  locale: Locale;
  subject: string;
  /**
   * A staff-edited body, already sanitised, filled in and styled by src/email-templates:
   * only then may it be put into the page as markup.
   */
  safeBodyHtml: string;
}

/** A customised template (R6) inside the same frame as the built-in mails. */
export function TemplatedMail({ locale, subject, safeBodyHtml }: TemplatedMailProps) {
  return (
    <MailFrame locale={locale} heading={subject}>
      <div dangerouslySetInnerHTML={{ __html: safeBodyHtml }} />
    </MailFrame>
  );
}
