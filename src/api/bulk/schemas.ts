import { z } from '@hono/zod-openapi';
import type { Config } from '../../config.js';
import { BULK_MAX_ROWS, echoOf, type CheckedRow, type SubmittedRow } from '../../bulk/rows.js';
import { validationError } from '../problem.js';
import { EmailField, LocaleField, PermissionsField, ProblemSchema, Timestamp, UsernameField, userTypeField, Uuid } from '../schemas.js';

/**
 * The body's shape is checked as a whole (a wrong type or an unknown field is a 422 for the
 * request, as the document says); a row's values are checked row by row with the rules of a
 * single invitation, and a bad row fails alone.
 */
export const BulkRowInput = z
  .object({
    username: z.string().openapi({ example: 'erika.muster' }),
    email: z.string().openapi({ example: 'erika@example.com' }),
    userType: z.string().openapi({ example: 'member', description: 'One of the configured USER_TYPES' }),
    isStaff: z.boolean().optional(),
    permissions: z.array(z.string()).optional(),
    locale: z.string().optional().openapi({ description: 'de or en (default: DEFAULT_LOCALE)' }),
  })
  .strict()
  .openapi('BulkInvitationRow', { description: 'The fields of a single invitation (InviteRequest). Each row is checked with the same rules; a row that breaks them fails on its own and the others go on.' });

export const BulkJsonBody = z
  .object({
    rows: z
      .array(BulkRowInput)
      .min(1, 'must have at least 1 row')
      .max(BULK_MAX_ROWS, `must have at most ${BULK_MAX_ROWS} rows; split the file`),
  })
  .strict()
  .openapi('BulkInvitationRequest');

export const CsvBody = z.string().openapi({
  description:
    'CSV (RFC 4180) in UTF-8, or in the charset the content type declares (text/csv; charset=windows-1252, iso-8859-1 or latin1 are read as Windows-1252; others are a 415): a header row with the column names username, email, userType and optionally isStaff (true/false), permissions (separated by spaces), locale (de/en), in any order; ' +
    `then at most ${BULK_MAX_ROWS} rows. Comma or semicolon, detected from the header. A BOM, CRLF, quoted fields and blank lines are fine.`,
  example: 'username,email,userType,locale\nerika.muster,erika@example.com,member,de\n',
});

/** The rules of POST /api/v1/invitations, for one row. */
const rowRules = (config: Config) =>
  z
    .object({
      username: UsernameField,
      email: EmailField,
      userType: userTypeField(config.USER_TYPES),
      isStaff: z.boolean().optional(),
      permissions: PermissionsField.optional(),
      locale: LocaleField.optional(),
    })
    .strict();

export function checkRows(config: Config, rows: SubmittedRow[]): CheckedRow[] {
  const rules = rowRules(config);
  return rows.map((submitted): CheckedRow => {
    const base = { row: submitted.row, line: submitted.line ?? null, echo: echoOf(submitted.values, config.DEFAULT_LOCALE) };
    if (submitted.structureProblem) {
      return { ...base, failure: { type: 'ValidationFailed', detail: `The row ${submitted.structureProblem}.`, errors: [{ field: '(row)', message: submitted.structureProblem }] } };
    }
    const parsed = rules.safeParse(submitted.values);
    if (!parsed.success) {
      const error = validationError(parsed.error, submitted.values);
      return { ...base, failure: { type: 'ValidationFailed', detail: error.message, errors: error.extra.errors ?? [] } };
    }
    return { ...base, command: parsed.data };
  });
}

// The fields of Problem, written out: an extended registered schema made nullable renders as
// an allOf that no null can satisfy.
const RowProblem = z
  .object({
    ...ProblemSchema.shape,
    duplicateOf: z.number().int().optional().openapi({ description: 'DuplicateInBatch: the earlier row naming the same user' }),
  })
  .openapi('BulkRowProblem', { description: 'Why the row was not (or would not be) invited: the problem document a single invitation would have answered with' });

const counts = z.object({ total: z.number().int(), pending: z.number().int(), created: z.number().int(), failed: z.number().int() });

export const BulkBatchSchema = z
  .object({
    id: Uuid,
    status: z.enum(['running', 'completed']),
    createdAt: Timestamp,
    completedAt: Timestamp.nullable(),
    createdBy: z.string().nullable(),
    perSecond: z.number().openapi({ description: 'BULK_INVITES_PER_SECOND when the batch was submitted' }),
    counts,
    rows: z.array(
      z
        .object({
          row: z.number().int().openapi({ description: '1 = the first row after the header, or the first element of rows' }),
          line: z.number().int().nullable().openapi({ description: 'CSV: the line of the file the row starts on (the header is line 1)' }),
          username: z.string(),
          email: z.string(),
          status: z.enum(['pending', 'created', 'failed']),
          userId: Uuid.nullable(),
          invitationId: Uuid.nullable(),
          problem: RowProblem.nullable(),
        })
        .openapi('BulkInvitationRowResult'),
    ),
  })
  .openapi('BulkInvitation');

export const BulkDryRunSchema = z
  .object({
    dryRun: z.literal(true),
    counts: z.object({ total: z.number().int(), valid: z.number().int(), failed: z.number().int() }),
    rows: z.array(
      z.object({
        row: z.number().int(),
        line: z.number().int().nullable(),
        username: z.string(),
        email: z.string(),
        status: z.enum(['valid', 'failed']).openapi({ description: 'valid: would be invited now' }),
        problem: RowProblem.nullable(),
      }),
    ),
  })
  .openapi('BulkInvitationDryRun');
