import { createRoute, z, type OpenAPIHono } from '@hono/zod-openapi';
import type { AppDeps } from '../../deps.js';
import { getUser, listUserOverview } from '../../users/user.service.js';
import type { ApiEnv } from '../middleware.js';
import { bearer, InvitationSchema, json, problem, UserSchema } from '../schemas.js';

const listRoute = createRoute({
  method: 'get',
  path: '/api/v1/users',
  tags: ['Users'],
  summary: 'User overview, newest first (R2)',
  security: bearer,
  request: {
    query: z
      .object({
        status: z.enum(['invited', 'active', 'inactive']).optional(),
        q: z.string().max(200).optional().openapi({ description: 'Part of the username or email, case-insensitive' }),
        limit: z.coerce.number().int().min(1).max(100).default(20),
        cursor: z.string().max(500).optional(),
      })
      .strict(),
  },
  responses: {
    200: json(z.object({ items: z.array(UserSchema), nextCursor: z.string().nullable() }), 'A page of users'),
    422: problem('Invalid query'),
  },
});

const getRoute = createRoute({
  method: 'get',
  path: '/api/v1/users/{id}',
  tags: ['Users'],
  summary: 'One user with its current invitation',
  security: bearer,
  request: { params: z.object({ id: z.string() }) },
  responses: {
    200: json(UserSchema.extend({ invitation: InvitationSchema.nullable() }), 'The user'),
    404: problem('No such user'),
  },
});

export function registerUserRoutes(app: OpenAPIHono<ApiEnv>, deps: AppDeps) {
  app.openapi(listRoute, async (c) => c.json(await listUserOverview(deps, c.req.valid('query')), 200));
  app.openapi(getRoute, async (c) => c.json(await getUser(deps, c.req.valid('param').id), 200));
}
