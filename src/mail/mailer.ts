import nodemailer from 'nodemailer';

export interface OutgoingMail {
  from: string;
  to: string;
  subject: string;
  html: string;
  text: string;
  /** Stable per logged mail, so a crash-window duplicate is recognisable as the same mail. */
  messageId: string;
}

export interface Mailer {
  send(mail: OutgoingMail): Promise<{ messageId: string; response: string }>;
  close(): void;
}

/** SMTP via nodemailer. `smtpUrl` like smtp://host:2525 or smtps://user:pass@host:465. */
export function createSmtpMailer(smtpUrl: string): Mailer {
  const transport = nodemailer.createTransport(smtpUrl, {
    // Fail fast so Temporal's retry policy, not a socket's patience, decides the cadence.
    connectionTimeout: 10_000,
    greetingTimeout: 10_000,
    socketTimeout: 30_000,
  } as object);
  return {
    async send(mail) {
      const info = await transport.sendMail({
        from: mail.from,
        to: mail.to,
        subject: mail.subject,
        html: mail.html,
        text: mail.text,
        messageId: mail.messageId,
        // Header injection is impossible by construction (addresses are validated, CR/LF
        // rejected); disable nodemailer's file/url content loading all the same.
        disableFileAccess: true,
        disableUrlAccess: true,
      });
      return { messageId: info.messageId, response: String(info.response ?? '') };
    },
    close() {
      transport.close();
    },
  };
}

/** SMTP 5xx is a permanent refusal (RFC 5321 §4.2.1); anything else may pass on retry. */
export function isPermanentSmtpFailure(error: unknown): boolean {
  const code = (error as { responseCode?: number })?.responseCode;
  return typeof code === 'number' && code >= 500 && code < 600;
}

export function describeSmtpFailure(error: unknown): string {
  const e = error as { response?: string; message?: string; code?: string };
  return (e?.response ?? e?.message ?? String(error)).slice(0, 1000);
}
