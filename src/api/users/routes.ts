import { createRoute, z, type OpenAPIHono } from '@hono/zod-openapi';
import type { Config } from '../../config.js';
import type { AppDeps } from '../../deps.js';
import { reactivateUser } from '../../reactivation/reactivation.service.js';
import { deleteUser, editUser } from '../../accounts/user-admin.service.js';
import { getUser, listUserOverview } from '../../accounts/user.service.js';
import { EmailStatusSchema } from '../emails/schemas.js';
import { requires } from '../api-keys/security.js';
import { actorOf, type ApiEnv } from '../middleware.js';
import {
  actorHeader,
  adminProblems,
  bodylessPostProblems,
  bodyProblems,
  EmailField,
  InvitationSchema,
  json,
  noBody,
  PermissionsField,
  PlainText,
  problem,
  Timestamp,
  unavailable,
  UsernameField,
  userTypeField,
  UserSchema,
  Uuid,
} from '../schemas.js';

const listRoute = createRoute({
  method: 'get',
  path: '/api/v1/users',
  tags: ['Users'],
  summary: 'User overview, newest first (R2)',
  security: requires('users:read'),
  request: {
    query: z
      .object({
        status: z.enum(['invited', 'active', 'inactive']).optional(),
        q: PlainText(200).optional().openapi({ description: 'Part of the username or email, case-insensitive' }),
        limit: z.coerce.number().int().min(1).max(100).default(20),
        cursor: PlainText(500).optional().openapi({ description: 'nextCursor of the previous page, as it was given' }),
      })
      .strict(),
  },
  responses: {
    200: json(z.object({ items: z.array(UserSchema), nextCursor: z.string().nullable() }), 'A page of users'),
    ...adminProblems,
    422: problem('Invalid query (an unknown parameter, or a cursor this service did not issue)'),
  },
});

const idParam = { params: z.object({ id: z.string() }) };

const getRoute = createRoute({
  method: 'get',
  path: '/api/v1/users/{id}',
  tags: ['Users'],
  summary: 'One user with its current invitation',
  security: requires('users:read'),
  request: idParam,
  responses: {
    200: json(
      UserSchema.extend({ invitation: InvitationSchema.nullable(), invitationEmail: EmailStatusSchema.nullable().openapi({ description: "The user's latest invitation mail and whether it went out (R13)" }) }),
      'The user',
    ),
    ...adminProblems,
    404: problem('No such user'),
  },
});

const editBody = (config: Config) =>
  z
    .object({
      username: UsernameField.optional(),
      email: EmailField.optional(),
      userType: userTypeField(config.USER_TYPES).optional(),
      isStaff: z.boolean().optional(),
      permissions: PermissionsField.optional(),
    })
    .strict()
    // An edit that names nothing is a client mistake (often a lost body), not a silent 200.
    .refine((edit) => Object.keys(edit).length > 0, { message: 'name at least one field to change', path: [] })
    .openapi('UserEdit', { minProperties: 1 });

const editRoute = (config: Config) =>
  createRoute({
    method: 'patch',
    path: '/api/v1/users/{id}',
    tags: ['Users'],
    summary: 'Staff edit, also "overwrite" (R5, R11, R12); an address change kills reset links',
    security: requires('users:write'),
    request: { ...idParam, ...actorHeader, body: { content: { 'application/json': { schema: editBody(config) } }, required: true } },
    responses: {
      200: json(
        UserSchema.extend({
          overwrite: z
            .object({ endedInvitationId: Uuid, status: z.enum(['invited', 'active', 'inactive']), reason: z.literal('overwritten') })
            .optional()
            .openapi({ description: 'Present when username and email of a user with a pending invitation were both replaced (R11): that invitation ended' }),
          nextSteps: z.array(z.string()).optional(),
        }),
        'The user; nextSteps says what the platform should do after an address change or an overwrite',
      ),
      ...adminProblems,
      ...bodyProblems,
      404: problem('No such user'),
      409: problem('Username or email in use'),
      ...unavailable,
    },
  });

const deleteRoute = createRoute({
  method: 'delete',
  path: '/api/v1/users/{id}',
  tags: ['Users'],
  summary: 'Delete (R11): username and email are free at once; links die; workflows end',
  security: requires('users:write'),
  request: { ...idParam, ...actorHeader },
  responses: {
    204: { description: 'Deleted' },
    ...adminProblems,
    404: problem('No such user'),
    413: problem('A body was sent, and it is larger than 64 KiB'),
    ...unavailable,
  },
});

const reactivateRoute = createRoute({
  method: 'post',
  path: '/api/v1/users/{id}/reactivate',
  tags: ['Users'],
  summary: 'Manual reactivation until the next local midnight unless the user logs in (R10)',
  security: requires('users:write'),
  request: { ...idParam, ...actorHeader, ...noBody },
  responses: {
    200: json(z.object({ user: UserSchema, deadline: Timestamp }), 'Active until the deadline unless the user logs in before it'),
    ...adminProblems,
    ...bodylessPostProblems,
    404: problem('No such user'),
    409: problem('Not inactive (pending invitation, or already active)'),
    ...unavailable,
  },
});

export function registerUserRoutes(app: OpenAPIHono<ApiEnv>, deps: AppDeps) {
  app.openapi(listRoute, async (c) => c.json(await listUserOverview(deps, c.req.valid('query')), 200));
  app.openapi(getRoute, async (c) => c.json(await getUser(deps, c.req.valid('param').id), 200));
  app.openapi(editRoute(deps.config), async (c) => c.json(await editUser(deps, c.req.valid('param').id, c.req.valid('json'), actorOf(c)), 200));
  app.openapi(deleteRoute, async (c) => {
    await deleteUser(deps, c.req.valid('param').id, actorOf(c));
    return c.body(null, 204);
  });
  app.openapi(reactivateRoute, async (c) => c.json(await reactivateUser(deps, c.req.valid('param').id, actorOf(c)), 200));
}
