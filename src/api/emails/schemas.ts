import { z } from '@hono/zod-openapi';

const statuses = ['queued', 'retrying', 'sent', 'failed'] as const;
const types = ['user_invitation', 'password_reset', 'invitation_reminder'] as const;
const instant = z.iso.datetime({ offset: true });

export const EmailStatusEnum = z.enum(statuses).openapi({
  description: 'queued: not tried yet; retrying: a 4xx answer, no connection or a hung server, tried again at nextAttemptAt; sent: the server answered 250; failed: a 5xx answer, retries ran out, or the link died first (error says which)',
});

export const EmailSummarySchema = z
  .object({
    id: z.string(),
    userId: z.string(),
    invitationId: z.string().nullable(),
    type: z.enum(types),
    locale: z.enum(['de', 'en']),
    to: z.string().openapi({ description: 'The recipient' }),
    subject: z.string(),
    status: EmailStatusEnum,
    attempts: z.number().int(),
    createdAt: z.string(),
    lastAttemptAt: z.string().nullable(),
    nextAttemptAt: z.string().nullable().openapi({ description: 'While retrying: when the next try is due' }),
    sentAt: z.string().nullable(),
    error: z.string().nullable().openapi({ description: "The server's refusal, the connection error, or why the mail was not sent" }),
    resentFrom: z.string().nullable().openapi({ description: 'The mail this one is an exact copy of (R7)' }),
  })
  .openapi('EmailSummary');

export const EmailSchema = EmailSummarySchema.extend({
  messageId: z.string().nullable(),
  smtpResponse: z.string().nullable().openapi({ description: "The mail server's answer when it took the mail (250 …)" }),
  html: z.string().openapi({ description: 'The body as sent, with {{personal_link}} where the personal link was' }),
  text: z.string().openapi({ description: 'The plain-text body as sent, with {{personal_link}} where the personal link was' }),
  templateVersion: z.number().int().nullable().openapi({ description: 'The version of the editable template the mail was rendered from (R6); null for the built-in one' }),
}).openapi('Email');

/** On the user view: the status of the user's latest invitation mail. */
export const EmailStatusSchema = z
  .object({
    id: z.string(),
    status: EmailStatusEnum,
    attempts: z.number().int(),
    sentAt: z.string().nullable(),
    nextAttemptAt: z.string().nullable(),
    error: z.string().nullable(),
  })
  .openapi('EmailStatus');

export const EmailLogQuery = z
  .object({
    userId: z.string().max(100).optional(),
    type: z.enum(types).optional(),
    status: z.enum(statuses).optional(),
    to: z.string().max(320).optional().openapi({ description: 'The recipient address, case-insensitive' }),
    since: instant.optional().openapi({ description: 'Logged at or after this instant (ISO 8601)' }),
    until: instant.optional().openapi({ description: 'Logged before this instant (ISO 8601)' }),
    limit: z.coerce.number().int().min(1).max(100).default(20),
    cursor: z.string().max(500).optional().openapi({ description: 'nextCursor of the previous page' }),
  })
  .strict();

export const ResendHeaders = z.object({
  'idempotency-key': z
    .string()
    .min(1)
    .max(200)
    .regex(/^[\x21-\x7e]+$/, 'printable ASCII without spaces')
    .optional()
    .openapi({ description: 'A retry with the same key from the same caller (the same API key, or ADMIN_API_KEY) returns the first answer and sends nothing more. Keys are per caller: another API key using the same value gets a copy of its own.' }),
});

export const ResendAnswer = z.object({
  email: EmailSchema,
  warning: z.string().optional().openapi({ description: "Set when the user's current address differs from the recipient" }),
});
