import { createRoute, z, type OpenAPIHono } from '@hono/zod-openapi';
import { auditActions } from '../../audit/actions.js';
import { listAuditTrail } from '../../audit/audit.service.js';
import type { AppDeps } from '../../deps.js';
import { requires } from '../api-keys/security.js';
import type { ApiEnv } from '../middleware.js';
import { adminProblems, json, PlainText, problem, Timestamp } from '../schemas.js';

const instant = z.iso.datetime({ offset: true });

// Every filter is checked: a typo in an action or a date must not quietly return nothing.
const AuditQuery = z
  .object({
    userId: z
      .string()
      .regex(/^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/, 'must be a UUID')
      .optional()
      .openapi({ format: 'uuid', description: 'Events about this user (kept after the user is deleted)' }),
    actor: PlainText(200).optional().openapi({ description: 'Who acted, exactly as recorded: the X-Actor header, `api` without it, `system`, or the username of a user acting on their own account' }),
    action: z.enum(auditActions).optional(),
    from: instant.optional().openapi({ description: 'At or after this instant (ISO 8601)' }),
    to: instant.optional().openapi({ description: 'Before this instant (ISO 8601)' }),
    limit: z.coerce.number().int().min(1).max(100).default(20),
    cursor: PlainText(500).optional().openapi({ description: 'nextCursor of the previous page, as it was given' }),
  })
  .strict();

export const AuditEventSchema = z
  .object({
    id: z.string(),
    at: Timestamp,
    action: z.enum(auditActions),
    actor: z.string().nullable().openapi({ description: 'Who acted: the X-Actor header (`api` without it), `system`, or the user themself' }),
    userId: z.string().nullable().openapi({ description: 'The user the event is about; null for events about API keys' }),
    via: z.enum(['bootstrap', 'api_key', 'console']).nullable().openapi({ description: 'The credential the request came with: ADMIN_API_KEY (`bootstrap`), a named key (`api_key`) or a staff member\'s console session (`console`); null when none acted (system, the user themself)' }),
    apiKey: z.object({ id: z.string(), name: z.string() }).nullable().openapi({ description: 'The named key, when via is api_key' }),
    details: z.record(z.string(), z.unknown()).openapi({ description: 'What changed; an edit has `changes` with each field `from` and `to`. Never a password hash or token.' }),
  })
  .openapi('AuditEvent');

const listRoute = createRoute({
  method: 'get',
  path: '/api/v1/audit-events',
  tags: ['Audit trail'],
  summary: 'The audit trail, newest first: who did what to whom, through which key, and when',
  security: requires('audit:read'),
  request: { query: AuditQuery },
  responses: {
    200: json(z.object({ items: z.array(AuditEventSchema), nextCursor: z.string().nullable() }), 'A page of events'),
    ...adminProblems,
    422: problem('Invalid filter (an unknown parameter or action, a malformed id or instant, or a cursor this service did not issue)'),
  },
});

export function registerAuditRoutes(app: OpenAPIHono<ApiEnv>, deps: AppDeps) {
  app.openapi(listRoute, async (c) => c.json(await listAuditTrail(deps, c.req.valid('query')), 200));
}
