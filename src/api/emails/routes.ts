import { createRoute, z, type OpenAPIHono } from '@hono/zod-openapi';
import type { AppDeps } from '../../deps.js';
import { getEmail, listEmailLog } from '../../mail/email-log.service.js';
import { resendEmail } from '../../mail/resend.service.js';
import { requires } from '../api-keys/security.js';
import { actorOf, type ApiEnv } from '../middleware.js';
import { adminProblems, bodylessPostProblems, json, noBody, problem } from '../schemas.js';
import { EmailLogQuery, EmailSchema, EmailSummarySchema, ResendAnswer, ResendHeaders } from './schemas.js';

// Any id that names no mail is a 404 (api.md), however long: the service only looks up UUIDs.
const idParam = { params: z.object({ id: z.string() }) };

const listRoute = createRoute({
  method: 'get',
  path: '/api/v1/emails',
  tags: ['Emails'],
  summary: 'The email log, newest first (R13): did the mail go out, and what did the server say?',
  security: requires('users:read'),
  request: { query: EmailLogQuery },
  responses: {
    200: json(z.object({ items: z.array(EmailSummarySchema), nextCursor: z.string().nullable() }), 'A page of logged mails'),
    ...adminProblems,
    422: problem('Invalid query'),
  },
});

const getRoute = createRoute({
  method: 'get',
  path: '/api/v1/emails/{id}',
  tags: ['Emails'],
  summary: 'One logged mail with its bodies (the personal link shown as a placeholder)',
  security: requires('users:read'),
  request: idParam,
  responses: {
    200: json(EmailSchema, 'The mail'),
    ...adminProblems,
    404: problem('No such email'),
  },
});

const resendRoute = createRoute({
  method: 'post',
  path: '/api/v1/emails/{id}/resend',
  tags: ['Emails'],
  summary: 'Send an exact copy (R7): same recipient, subject, bodies and link, while the link lives',
  description: 'Limited against mail bombing: at most RESEND_LIMIT_PER_EMAIL copies of one mail and RESEND_LIMIT_PER_RECIPIENT copies to one address within RESEND_LIMIT_WINDOW, whoever asks; a retry with the same Idempotency-Key returns its copy and is not counted again.',
  security: requires('emails:write'),
  // The copy is exact (R7): no field may change it, and one sent is refused, not ignored.
  request: { ...idParam, headers: ResendHeaders, ...noBody },
  responses: {
    202: json(ResendAnswer, 'The copy is logged and on its way'),
    ...adminProblems,
    404: problem('No such email'),
    ...bodylessPostProblems,
    409: problem('The invitation was accepted or revoked, or the reset link was replaced'),
    410: problem('The invitation expired (the detail says how to invite again, R11), or the reset link expired or was used'),
    422: problem('Invalid Idempotency-Key, or one this caller already used for another mail; or a body with fields (`errors` names them): an exact copy takes none'),
    429: {
      ...problem('Too many copies: RESEND_LIMIT_PER_EMAIL copies of this mail, or RESEND_LIMIT_PER_RECIPIENT copies to its recipient, within RESEND_LIMIT_WINDOW (defaults 3, 5, 1 hour). `limit` says which (per_email, per_recipient); nothing was sent'),
      headers: z.object({ 'Retry-After': z.string().openapi({ description: 'Seconds until a copy leaves the window' }) }),
    },
    503: problem('Temporal unavailable; nothing was sent'),
  },
});

export function registerEmailRoutes(app: OpenAPIHono<ApiEnv>, deps: AppDeps) {
  app.openapi(listRoute, async (c) => c.json(await listEmailLog(deps, c.req.valid('query')), 200));
  app.openapi(getRoute, async (c) => c.json(await getEmail(deps, c.req.valid('param').id), 200));
  app.openapi(resendRoute, async (c) => {
    const answer = await resendEmail(deps, c.req.valid('param').id, c.req.valid('header')['idempotency-key'], actorOf(c));
    return c.json(answer, 202);
  });
}
