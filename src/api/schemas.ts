import { z } from '@hono/zod-openapi';
import { canonicalEmail, EMAIL_MAX, USERNAME_MAX, usernameProblem } from '../users/identity.js';
import { METADATA_KEY_PATTERN, METADATA_MAX_BYTES, METADATA_MAX_KEYS, METADATA_MAX_STRING, metadataSize } from '../users/metadata.js';

export const ProblemSchema = z
  .object({
    type: z.string(),
    title: z.string(),
    status: z.number().int(),
    detail: z.string(),
    instance: z.string().optional(),
    errors: z.array(z.object({ field: z.string(), message: z.string() })).optional(),
  })
  .openapi('Problem');

// Documentation only (answers are not parsed): the formats a client may rely on.
export const Uuid = z.string().openapi({ format: 'uuid' });
export const Timestamp = z.string().openapi({ format: 'date-time' });

const MetadataValue = z.union([z.string().max(METADATA_MAX_STRING), z.number(), z.boolean()]);

/** The platform's metadata as answered (any object the API once accepted). */
export const MetadataSchema = z
  .record(z.string(), MetadataValue)
  .openapi('Metadata', { description: "The platform's own data about the user, as given with its invitation", example: { tenant: 'acme', role: 'editor' } });

/** The platform's metadata as accepted (src/users/metadata.ts). */
export const MetadataField = z
  .record(z.string().regex(METADATA_KEY_PATTERN, 'keys are 1–64 letters, digits, _ . : -'), MetadataValue)
  .superRefine((metadata, ctx) => {
    if (Object.keys(metadata).length > METADATA_MAX_KEYS) ctx.addIssue({ code: 'custom', message: `at most ${METADATA_MAX_KEYS} keys` });
    else if (metadataSize(metadata) > METADATA_MAX_BYTES) ctx.addIssue({ code: 'custom', message: `at most ${METADATA_MAX_BYTES} bytes as JSON` });
  })
  .openapi({
    description: `A flat JSON object of the platform's own (its tenant, the role in its terms): at most ${METADATA_MAX_KEYS} keys of 1–64 letters, digits, _ . : -, each a string (≤ ${METADATA_MAX_STRING} characters), number or boolean, at most ${METADATA_MAX_BYTES} bytes as JSON. Stored with the user, returned with it, and in its webhook events.`,
    maxProperties: METADATA_MAX_KEYS,
    example: { tenant: 'acme', role: 'editor' },
  });

export const UserSchema = z
  .object({
    id: Uuid,
    username: z.string(),
    email: z.string(),
    userType: z.string(),
    isStaff: z.boolean(),
    permissions: z.array(z.string()),
    status: z.enum(['invited', 'active', 'inactive']),
    locale: z.enum(['de', 'en']),
    emailVerified: z.boolean(),
    createdAt: Timestamp,
    activatedAt: Timestamp.nullable(),
    lastLoginAt: Timestamp.nullable(),
    deactivatedAt: Timestamp.nullable(),
    deactivationReason: z.string().nullable(),
    metadata: MetadataSchema,
  })
  .openapi('User');

export const InvitationSchema = z
  .object({
    id: Uuid,
    status: z.enum(['pending', 'accepted', 'expired', 'revoked']),
    createdAt: Timestamp,
    expiresAt: Timestamp,
    acceptedAt: Timestamp.nullable(),
    expiredAt: Timestamp.nullable(),
    revokedAt: Timestamp.nullable(),
    invitedBy: z.string().nullable(),
    workflowId: z.string(),
  })
  .openapi('Invitation');

export const problem = (description: string) => ({
  content: { 'application/problem+json': { schema: ProblemSchema } },
  description,
});

export const json = <T extends z.ZodTypeAny>(schema: T, description: string) => ({
  content: { 'application/json': { schema } },
  description,
});

export const jsonBody = <T extends z.ZodTypeAny>(schema: T) => ({
  body: { content: { 'application/json': { schema } }, required: true },
});

/*
 * The failures every operation of a kind can give, spread into each route's responses so
 * that the document names every status the middleware and the error mapping produce.
 */
/** Admin operations: the key is checked before anything else (body, content type, id). */
export const adminProblems = {
  401: problem('No key, a wrong one or a revoked one: send "Authorization: Bearer <key>"'),
  403: problem('A named API key without the scope this operation lists (`requiredScope` names it)'),
  422: problem('X-Actor names the reserved actor "system", or is not UTF-8 (see the X-Actor header); operations with a body or query say more'),
} as const;
/** Operations with a JSON body. */
export const bodyProblems = {
  400: problem('The body is not valid JSON'),
  413: problem('The body is larger than 64 KiB'),
  415: problem('The body is not application/json'),
  422: problem('Invalid fields; `errors` names each one'),
} as const;
/**
 * The request body of a POST that takes none: nothing, or `{}`. A field sent there (`{"to": …}`
 * on a resend) is refused with a 422 naming it, as strict schemas refuse unknown fields
 * everywhere else, instead of being ignored: the caller meant something we would not do.
 */
export const noBody = {
  body: {
    content: { 'application/json': { schema: z.object({}).strict().openapi('NoFields', { description: 'This operation takes no body: send none, or {}' }) } },
    required: false,
  },
};
/** POST operations without a body of their own (`noBody`) refuse anything but an empty one. */
export const bodylessPostProblems = {
  400: problem('A body was sent, and it is not valid JSON'),
  413: problem('The body is larger than 64 KiB'),
  415: problem('A body was sent, and it is not application/json'),
  422: problem('A body was sent with fields (`errors` names them), or not a JSON object: this operation takes none'),
} as const;
/** The public endpoints share a per-client rate limit. */
export const rateLimited = {
  429: problem('Too many requests from this client; Retry-After says when to try again'),
} as const;
/** Operations that start or update a workflow, or write under possible contention. */
export const unavailable = {
  503: problem('Temporal is unreachable or a concurrent change got in the way; nothing was changed. Retry-After may say when to try again'),
} as const;

/** ADMIN_API_KEY only; give a route `requires(scope)` (api-keys/security.ts) to open it to named keys. */
export const bearer = [{ bearerAuth: [] }];

/** Admin changes may name the staff member acting, for the audit trail (api.md). */
export const ActorHeader = z
  .string()
  .optional()
  .openapi({
    description:
      'The staff member acting, recorded in the audit trail and webhook payloads beside the API key (control characters removed, at most 200 characters kept). ' +
      'Non-ASCII names as UTF-8, percent-encoded (`j%C3%BCrgen`; a literal % is `%25`), or as X-Actor*; raw UTF-8 bytes are read as UTF-8 too. ' +
      '"system" (in any case) is reserved for the service itself: 422. Not UTF-8 after decoding: 422.',
    example: 'staff:j%C3%BCrgen',
  });
/** RFC 8187's extended form of X-Actor; wins over X-Actor when both are sent. */
export const ActorExtendedHeader = z
  .string()
  .optional()
  .openapi({ description: "X-Actor as an RFC 8187 extended value, UTF-8 only: `UTF-8''j%C3%BCrgen`. Wins over X-Actor.", example: "UTF-8''j%C3%BCrgen" });
export const actorHeader = { headers: z.object({ 'x-actor': ActorHeader, 'x-actor*': ActorExtendedHeader }) };

// The same rules the services apply, here too so that one 422 lists every bad field at once.
// Lengths count code points, as JSON Schema's minLength/maxLength do.
const codePoints = (value: string) => [...value].length;

/**
 * The document's pattern for usernames: letters, marks, digits and . _ + -, without the
 * fillers and joiners that render as nothing (usernameProblem, which also normalises to NFC).
 * The combining marks are listed as escapes on purpose, hence the lint exception.
 */
// eslint-disable-next-line no-misleading-character-class
const USERNAME_PATTERN = /^(?!.*[\u034F\u115F\u1160\u17B4\u17B5\u180B-\u180F\u3164\uFE00-\uFE0F\uFFA0])[\p{L}\p{M}\p{N}._+-]+$/u;

export const UsernameField = z
  .string()
  .superRefine((value, ctx) => {
    const length = codePoints(value);
    const problem =
      length < 2 || length > USERNAME_MAX
        ? `must be 2 to ${USERNAME_MAX} characters`
        : (usernameProblem(value) ?? (USERNAME_PATTERN.test(value) ? undefined : 'may contain letters, digits and . _ + - only'));
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  })
  .openapi({
    minLength: 2,
    maxLength: USERNAME_MAX,
    pattern: USERNAME_PATTERN.source,
    description: 'Letters, digits and . _ + -; no "@". Unique case-insensitively after Unicode normalisation (NFKC).',
  });

export const EmailField = z
  .string()
  .superRefine((value, ctx) => {
    const result = codePoints(value) > EMAIL_MAX ? { ok: false as const, problem: `must be at most ${EMAIL_MAX} characters` } : canonicalEmail(value);
    if (!result.ok) ctx.addIssue({ code: 'custom', message: result.problem });
  })
  // idn-email, not email: internationalised addresses (RFC 6531) are accepted.
  .openapi({ format: 'idn-email', maxLength: EMAIL_MAX, description: 'Unique case-insensitively; the domain may be internationalised' });

export const PermissionsField = z
  .array(z.string().regex(/^[A-Za-z][A-Za-z0-9_.:-]{0,99}$/, 'letters, digits, _ . : - (max 100)'))
  .max(200);

/** The configured user types (USER_TYPES): the document is built per app, from its config. */
export const userTypeField = (types: readonly string[]) =>
  z.enum(types as [string, ...string[]], { error: () => `must be one of: ${types.join(', ')}` });

export const LocaleField = z.enum(['de', 'en']);

/**
 * Free text a client sends that reaches a query: control characters never mean anything
 * there. Written as C0/DEL/C1 ranges rather than \p{Cc} so that the document's pattern is
 * plain ECMA-262 that every JSON Schema tool reads the same, with no flags.
 */
// eslint-disable-next-line no-control-regex
const NO_CONTROL_CHARACTERS = /^[^\u0000-\u001F\u007F-\u009F]*$/;
export const PlainText = (max: number) => z.string().max(max).regex(NO_CONTROL_CHARACTERS, 'must not contain control characters');
