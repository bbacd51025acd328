import { SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
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

/** Milliseconds; the configuration's SMTP_*_TIMEOUT (README). */
export interface SmtpTimeouts {
  SMTP_CONNECTION_TIMEOUT: number;
  SMTP_GREETING_TIMEOUT: number;
  SMTP_SOCKET_TIMEOUT: number;
}

const defaultTimeouts: SmtpTimeouts = { SMTP_CONNECTION_TIMEOUT: 10_000, SMTP_GREETING_TIMEOUT: 10_000, SMTP_SOCKET_TIMEOUT: 30_000 };

const tracer = trace.getTracer('invitation-service/mail');

/** SMTP via nodemailer. `smtpUrl` like smtp://host:2525 or smtps://user:pass@host:465. */
export function createSmtpMailer(smtpUrl: string, timeouts: SmtpTimeouts = defaultTimeouts): Mailer {
  // The timeouts go in the options object beside `url`: a second argument would be the
  // messages' defaults, where nodemailer ignores them (a hung server then held an attempt
  // for nodemailer's own 30 s greeting and 10 min socket defaults).
  const transport = nodemailer.createTransport({
    url: smtpUrl,
    // A hung server must end the attempt, so that Temporal's retry policy, not a socket's
    // patience, decides the cadence (and the log can say "retrying").
    connectionTimeout: timeouts.SMTP_CONNECTION_TIMEOUT,
    greetingTimeout: timeouts.SMTP_GREETING_TIMEOUT,
    socketTimeout: timeouts.SMTP_SOCKET_TIMEOUT,
  });
  return {
    async send(mail) {
      // The SMTP hand-off as its own span, below the activity's when tracing is on (a no-op otherwise).
      return tracer.startActiveSpan('smtp.send', { kind: SpanKind.CLIENT }, async (span) => {
        try {
          const sent = await sendMail(mail);
          span.setAttribute('smtp.response', sent.response.slice(0, 100));
          return sent;
        } catch (error) {
          span.recordException(error as Error);
          span.setStatus({ code: SpanStatusCode.ERROR, message: (error as Error).message });
          throw error;
        } finally {
          span.end();
        }
      });
    },
    close() {
      transport.close();
    },
  };

  async function sendMail(mail: OutgoingMail): Promise<{ messageId: string; response: string }> {
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
  }
}

/** SMTP 5xx is a permanent refusal (RFC 5321 §4.2.1); anything else may pass on retry. */
export function isPermanentSmtpFailure(error: unknown): boolean {
  const code = (error as { responseCode?: number })?.responseCode;
  return typeof code === 'number' && code >= 500 && code < 600;
}

/** The server's answer when there was one, else what went wrong (refused, timed out). */
export function describeSmtpFailure(error: unknown): string {
  const e = error as { response?: string; message?: string; code?: string };
  if (e?.response) return e.response.slice(0, 1000);
  const text = e?.message ?? String(error);
  return (e?.code && !text.includes(e.code) ? `${e.code}: ${text}` : text).slice(0, 1000);
}
