import { z } from '@hono/zod-openapi';
import { PlainText } from '../schemas.js';

// Control characters have no place in a subject (a header) or in markup; newlines and tabs in the body do.
// Control characters as C0/DEL/C1 ranges, not \p{Cc} with a flag: the document's pattern must
// read the same in every JSON Schema tool (see PlainText).
const subject = PlainText(200).min(1);
// eslint-disable-next-line no-control-regex
const body = z.string().min(1).max(20_000).regex(/^(?:[^\u0000-\u001F\u007F-\u009F]|[\t\n\r])*$/, 'must not contain control characters other than line breaks and tabs');

export const TemplateBody = z
  .object({
    subject: subject.openapi({ example: 'Your invitation to {{productName}}' }),
    body: body.openapi({
      example: '<p>Hello {{username}},</p>\n<p><a class="button" href="{{invitationLink}}">Set password</a></p>\n<p>Valid until {{expiresAt}}.</p>',
      description:
        'A small subset of HTML: p, br, strong, b, em, i, u, a (href http/https/mailto; class="button" for a button), ul, ol, li, h2, h3, blockquote, hr. Anything else is removed. ' +
        "Links (each href, and URLs written as text, which mail clients make clickable) may lead only to PUBLIC_BASE_URL's origin and the hosts of TEMPLATE_LINK_HOSTS (a mailto: to addresses at those hosts); any other is a 422 naming it.",
    }),
  })
  .strict()
  .openapi('EmailTemplateContent');

export const PreviewBody = z
  .object({ subject: subject.optional(), body: body.optional() })
  .strict()
  .refine((draft) => (draft.subject === undefined) === (draft.body === undefined), { message: 'send both subject and body for a draft, or neither', path: ['body'] })
  .openapi('EmailTemplatePreviewRequest');

export const TemplateSchema = z
  .object({
    type: z.enum(['user_invitation', 'password_reset', 'invitation_reminder']),
    locale: z.enum(['de', 'en']),
    subject: z.string(),
    body: z.string(),
    isDefault: z.boolean().openapi({ description: 'The built-in mail is in force (never customised, or reset)' }),
    version: z.number().int().nullable().openapi({ description: 'The newest version; null when never changed' }),
    updatedAt: z.string().nullable(),
    updatedBy: z.string().nullable(),
    variables: z.array(z.string()).openapi({ example: ['{{invitationLink}}', '{{username}}', '{{expiresAt}}', '{{productName}}'] }),
  })
  .openapi('EmailTemplate');

export const VersionSchema = z
  .object({
    version: z.number().int(),
    isDefault: z.boolean().openapi({ description: 'This version returned to the built-in default' }),
    subject: z.string().nullable(),
    body: z.string().nullable(),
    createdAt: z.string(),
    createdBy: z.string().nullable(),
  })
  .openapi('EmailTemplateVersion');

export const PreviewSchema = z
  .object({
    subject: z.string(),
    html: z.string(),
    text: z.string(),
    draft: z.boolean(),
    version: z.number().int().nullable(),
    isDefault: z.boolean(),
  })
  .openapi('EmailTemplatePreview');
