import { createRoute, z, type OpenAPIHono } from '@hono/zod-openapi';
import { createApiKey, listApiKeys, revokeApiKey } from '../../api-keys/api-key.service.js';
import { scopes } from '../../api-keys/scopes.js';
import type { AppDeps } from '../../deps.js';
import { actorOf, type ApiEnv } from '../middleware.js';
import { actorHeader, adminProblems, bodyProblems, json, jsonBody, PlainText, problem, Timestamp, Uuid } from '../schemas.js';
import { bootstrapOnly } from './security.js';

const ScopeField = z.enum(scopes);

const ApiKeySchema = z
  .object({
    id: Uuid,
    name: z.string(),
    scopes: z.array(ScopeField),
    prefix: z.string().openapi({ description: 'The first characters of the key, to tell keys apart; the key itself is never shown again' }),
    createdAt: Timestamp,
    createdBy: z.string().nullable(),
    lastUsedAt: Timestamp.nullable().openapi({ description: 'Last successful use, exact to about a minute' }),
    revokedAt: Timestamp.nullable(),
  })
  .openapi('ApiKey');

const CreateApiKeyBody = z
  .object({
    name: PlainText(100)
      .refine((name) => name.trim().length > 0, 'must not be empty')
      .openapi({ minLength: 1, description: 'What the key is for, e.g. "CRM sync"' }),
    scopes: z.array(ScopeField).min(1).max(scopes.length * 4),
  })
  .strict()
  .openapi('CreateApiKey');

const listRoute = createRoute({
  method: 'get',
  path: '/api/v1/api-keys',
  tags: ['API keys'],
  summary: 'The named API keys, newest first, revoked ones included (never the keys themselves)',
  security: bootstrapOnly,
  responses: { 200: json(z.object({ items: z.array(ApiKeySchema) }), 'The keys'), ...adminProblems },
});

const createRouteDef = createRoute({
  method: 'post',
  path: '/api/v1/api-keys',
  tags: ['API keys'],
  summary: 'Issue a named key with scopes; the answer is the only time the key is shown',
  security: bootstrapOnly,
  request: { ...jsonBody(CreateApiKeyBody), ...actorHeader },
  responses: {
    201: json(ApiKeySchema.extend({ key: z.string().openapi({ description: 'The key (isk_…): store it now, it is not shown again' }) }), 'The key'),
    ...adminProblems,
    ...bodyProblems,
  },
});

const revokeRoute = createRoute({
  method: 'delete',
  path: '/api/v1/api-keys/{id}',
  tags: ['API keys'],
  summary: 'Revoke a key: its next request is a 401. Revoked keys stay listed',
  security: bootstrapOnly,
  request: { params: z.object({ id: z.string() }), ...actorHeader },
  responses: {
    204: { description: 'Revoked (or already revoked)' },
    ...adminProblems,
    404: problem('No such key'),
    413: problem('A body was sent, and it is larger than 64 KiB'),
  },
});

export function registerApiKeyRoutes(app: OpenAPIHono<ApiEnv>, deps: AppDeps) {
  app.openapi(listRoute, async (c) => c.json(await listApiKeys(deps), 200));
  app.openapi(createRouteDef, async (c) => {
    return c.json(await createApiKey(deps, c.req.valid('json'), actorOf(c)), 201);
  });
  app.openapi(revokeRoute, async (c) => {
    await revokeApiKey(deps, c.req.valid('param').id, actorOf(c));
    return c.body(null, 204);
  });
}
