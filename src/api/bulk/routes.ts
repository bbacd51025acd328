import { createRoute, z, type OpenAPIHono } from '@hono/zod-openapi';
import type { MiddlewareHandler } from 'hono';
import { csvCharsets, decodeBulkCsv, isSupportedCsvCharset, parseBulkCsv, unsupportedCsvCharset } from '../../bulk/csv.js';
import { bulkInvitationView, checkBatch, submitBulkInvitation } from '../../bulk/bulk.service.js';
import type { CheckedRow, RowFailure, SubmittedRow } from '../../bulk/rows.js';
import type { AppDeps } from '../../deps.js';
import { DomainError } from '../../errors.js';
import { checkIdempotencyKey } from '../../invitations/idempotency.js';
import { actorOf, limitBody, type ApiEnv } from '../middleware.js';
import { problemBody, validationError } from '../problem.js';
import { PRIVILEGE_SCOPE, requirePrivilegeScope, requires } from '../api-keys/security.js';
import { ActorExtendedHeader, ActorHeader, adminProblems, json, problem, unavailable } from '../schemas.js';
import { BulkBatchSchema, BulkDryRunSchema, BulkJsonBody, checkRows, CsvBody } from './schemas.js';

/** The one path that takes CSV and a larger body; app.ts exempts it from the JSON-only rules. */
export const BULK_PATH = '/api/v1/invitations/bulk';
/** 1,000 rows of long names, addresses and permissions fit with room to spare. */
export const BULK_BODY_LIMIT = 2 * 1024 * 1024;

const JSON_TYPE = /^application\/([\w.-]+\+)?json\s*(;|$)/i;
const CSV_TYPE = /^text\/csv\s*(;|$)/i;

/** The `charset` parameter of a content type, unquoted; undefined when there is none. */
function charsetOf(contentType: string): string | undefined {
  for (const parameter of contentType.split(';').slice(1)) {
    const [name, ...value] = parameter.split('=');
    if (name!.trim().toLowerCase() === 'charset') return value.join('=').trim().replace(/^"(.*)"$/, '$1');
  }
  return undefined;
}

/** JSON or CSV, nothing else: refused with 415 before the body is read. */
const jsonOrCsv: MiddlewareHandler = async (c, next) => {
  if (c.req.method === 'POST') {
    const type = c.req.header('content-type');
    const length = c.req.header('content-length');
    const hasBody = (length !== undefined && length !== '0') || c.req.header('transfer-encoding') !== undefined;
    if ((type !== undefined || hasBody) && !JSON_TYPE.test(type ?? '') && !CSV_TYPE.test(type ?? '')) {
      throw new DomainError('UnsupportedMediaType', 'Send the rows as application/json ({"rows": [...]}) or as text/csv with a header row.');
    }
    // A charset we cannot read is refused before the body is, not guessed at (issue 15.7).
    const charset = CSV_TYPE.test(type ?? '') ? charsetOf(type!) : undefined;
    if (!isSupportedCsvCharset(charset)) throw unsupportedCsvCharset(charset!);
  }
  await next();
};

const submitRoute = createRoute({
  method: 'post',
  path: BULK_PATH,
  tags: ['Invitations'],
  summary: `Invite up to 1,000 people at once (JSON or CSV); answers at once with a batch to follow`,
  description:
    'Every row is checked now (the rules of a single invitation, duplicates within the file, names and addresses already taken) and the rows that fail are reported in the answer; ' +
    'the others are invited one by one by a workflow, at most BULK_INVITES_PER_SECOND a second, each with its own invitation workflow and mail. ' +
    'GET the Location for the progress and the result of every row. With ?dryRun=true nothing is stored or invited: the answer says what would happen. ' +
    `Needs the scope invitations:write; a file with any row that sets isStaff to true or gives permissions needs ${PRIVILEGE_SCOPE} as well (403 naming it, for the whole file, dry run included).`,
  security: requires('invitations:write'),
  request: {
    query: z.object({
      dryRun: z.enum(['true', 'false']).optional().openapi({ description: 'true: check every row and say what would happen, without inviting anyone' }),
    }),
    headers: z.object({
      'x-actor': ActorHeader,
        'x-actor*': ActorExtendedHeader,
      'idempotency-key': z.string().optional().openapi({
        description: 'A retry with the same key answers with the batch the first request created (header Idempotent-Replayed: true) and never creates a second one; the same key with another file is a 422.',
        minLength: 1,
        maxLength: 255,
        pattern: '^[!-~]+$',
      }),
    }),
    // The JSON schema by reference, not as zod: the framework would then parse every body as
    // JSON, CSV too. The handler validates it with the same zod schema.
    body: { content: { 'application/json': { schema: { $ref: '#/components/schemas/BulkInvitationRequest' } }, 'text/csv': { schema: CsvBody } }, required: true },
  },
  responses: {
    200: json(BulkDryRunSchema, 'Dry run: what would happen to each row; nothing was stored or invited'),
    202: {
      ...json(BulkBatchSchema, 'Accepted: the batch, with the rows that failed the checks already marked; the rest are pending'),
      headers: z.object({
        Location: z.string().openapi({ description: 'The batch: GET it for the progress' }),
        'Idempotent-Replayed': z.literal('true').optional().openapi({ description: 'Present when this answers a retry with the same Idempotency-Key' }),
      }),
    },
    ...adminProblems,
    403: problem(`A named API key without invitations:write, or without ${PRIVILEGE_SCOPE} when a row sets isStaff or permissions (\`requiredScope\` names the one missing)`),
    400: problem('The body is not valid JSON'),
    413: problem(`The body is larger than ${BULK_BODY_LIMIT / 1024 / 1024} MiB`),
    415: problem(`The body is neither application/json nor text/csv, or the CSV declares a charset other than ${csvCharsets.join(', ')}`),
    422: problem('No rows, more than 1,000 rows, a body of the wrong shape, a CSV that cannot be read (header, quoting, bytes that are not UTF-8 without a charset saying otherwise), an invalid Idempotency-Key, or a key used before for another file'),
    ...unavailable,
  },
});

const getRoute = createRoute({
  method: 'get',
  path: `${BULK_PATH}/{id}`,
  tags: ['Invitations'],
  summary: 'The progress of a bulk invitation and the result of every row',
  security: requires('invitations:write'),
  request: { params: z.object({ id: z.string() }) },
  responses: {
    200: json(BulkBatchSchema, 'The batch: counts, and each row as created (with user and invitation id), failed (with a problem) or pending'),
    ...adminProblems,
    404: problem('No such bulk invitation'),
  },
});

export function registerBulkRoutes(app: OpenAPIHono<ApiEnv>, deps: AppDeps) {
  app.openAPIRegistry.register('BulkInvitationRequest', BulkJsonBody);
  app.use(BULK_PATH, limitBody(BULK_BODY_LIMIT), jsonOrCsv);

  app.openapi(submitRoute, async (c) => {
    const type = c.req.header('content-type') ?? '';
    let submitted: SubmittedRow[];
    if (CSV_TYPE.test(type)) submitted = parseBulkCsv(decodeBulkCsv(new Uint8Array(await c.req.arrayBuffer()), charsetOf(type)));
    else if (JSON_TYPE.test(type)) submitted = (await jsonRows(() => c.req.json())).map((values, i) => ({ row: i + 1, values }));
    else throw new DomainError('ValidationFailed', 'Send the rows as a body: application/json ({"rows": [...]}) or text/csv.', { errors: [{ field: '(body)', message: 'is required' }] });

    const key = c.req.valid('header')['idempotency-key'];
    const idempotencyKey = key === undefined ? undefined : checkIdempotencyKey(key);
    const checked = checkRows(deps.config, submitted);
    requirePrivilegeScope(c.get('scopes'), checked.flatMap((r) => (r.command ? [r.command] : [])));
    const rows = await checkBatch(deps, checked);

    if (c.req.valid('query').dryRun === 'true') {
      const failed = rows.filter((r) => r.failure).length;
      return c.json(
        {
          dryRun: true as const,
          counts: { total: rows.length, valid: rows.length - failed, failed },
          rows: rows.map((r: CheckedRow) => ({
            row: r.row,
            line: r.line,
            username: r.echo.username,
            email: r.echo.email,
            status: r.failure ? ('failed' as const) : ('valid' as const),
            problem: r.failure ? rowProblem(r.failure) : null,
          })),
        },
        200,
      );
    }

    const { view, replayed } = await submitBulkInvitation(deps, { submitted, rows, principal: c.get('principal'), actor: actorOf(c), idempotencyKey });
    c.header('location', `${BULK_PATH}/${view.id}`);
    if (replayed) c.header('idempotent-replayed', 'true');
    return c.json(batchBody(view), 202);
  });

  app.openapi(getRoute, async (c) => c.json(batchBody(await bulkInvitationView(deps, c.req.valid('param').id)), 200));
}

async function jsonRows(read: () => Promise<unknown>) {
  let body: unknown;
  try {
    body = await read();
  } catch {
    throw new DomainError('MalformedJson', 'The request body could not be parsed as JSON.');
  }
  const parsed = BulkJsonBody.safeParse(body);
  if (!parsed.success) throw validationError(parsed.error, body);
  return parsed.data.rows;
}

/** A row's failure as the problem document a single invitation would have answered with. */
function rowProblem(failure: RowFailure) {
  const { type, detail, ...extra } = failure;
  return problemBody(new DomainError(type, detail, extra));
}

function batchBody(view: Awaited<ReturnType<typeof bulkInvitationView>>) {
  return { ...view, rows: view.rows.map(({ failure, ...row }) => ({ ...row, problem: failure ? rowProblem(failure) : null })) };
}
