import { createRoute, z, type OpenAPIHono } from '@hono/zod-openapi';
import type { AppDeps } from '../../deps.js';
import { checkIdempotencyKey } from '../../invitations/idempotency.js';
import { inviteUser, revokeInvitationById } from '../../invitations/invitation.service.js';
import { actorOf, type ApiEnv } from '../middleware.js';
import { bearer, EmailField, json, jsonBody, PermissionsField, problem, UsernameField, UserSchema } from '../schemas.js';

const InviteBody = z
  .object({
    username: UsernameField.openapi({ example: 'erika.muster' }),
    email: EmailField.openapi({ example: 'erika@example.com' }),
    userType: z.string().max(64).openapi({ example: 'member', description: 'One of USER_TYPES' }),
    isStaff: z.boolean().optional(),
    permissions: PermissionsField.optional(),
    locale: z.enum(['de', 'en']).optional().openapi({ description: "The invitee's language for mails and pages (default de)" }),
  })
  .strict()
  .openapi('InviteRequest');

const inviteRoute = createRoute({
  method: 'post',
  path: '/api/v1/invitations',
  tags: ['Invitations'],
  summary: 'Invite a person (R1–R3): creates the user as invited and mails a personal link',
  security: bearer,
  request: {
    ...jsonBody(InviteBody),
    headers: z.object({
      'idempotency-key': z.string().optional().openapi({
        description: 'A retry with the same key returns the first result (header Idempotent-Replayed: true) and never creates a second invitation; the same key with a different body is a 422.',
        example: 'b6f0c8e2-invite-erika',
      }),
    }),
  },
  responses: {
    201: json(z.object({ user: UserSchema, invitation: z.object({ id: z.string(), expiresAt: z.string() }) }), 'Invited'),
    400: problem('Malformed JSON'),
    401: problem('Missing or wrong bearer key'),
    409: problem('Username or email already in use'),
    415: problem('Not JSON'),
    422: problem('Invalid fields'),
    503: problem('Temporal unavailable; nothing changed'),
  },
});

const revokeRoute = createRoute({
  method: 'delete',
  path: '/api/v1/invitations/{id}',
  tags: ['Invitations'],
  summary: 'Revoke a pending invitation: the link stops working, the user becomes inactive',
  security: bearer,
  request: { params: z.object({ id: z.string() }) },
  responses: {
    204: { description: 'Revoked (or already revoked)' },
    404: problem('No such invitation'),
    409: problem('Already accepted or expired'),
  },
});

export function registerInvitationRoutes(app: OpenAPIHono<ApiEnv>, deps: AppDeps) {
  app.openapi(inviteRoute, async (c) => {
    const key = c.req.valid('header')['idempotency-key'];
    const idempotency = key === undefined ? undefined : { principal: c.get('principal'), key: checkIdempotencyKey(key) };
    const result = await inviteUser(deps, c.req.valid('json'), actorOf(c), idempotency);
    c.header('location', `/api/v1/users/${result.user.id}`);
    if (result.replayed) c.header('idempotent-replayed', 'true');
    return c.json({ user: result.user, invitation: result.invitation }, 201);
  });
  app.openapi(revokeRoute, async (c) => {
    await revokeInvitationById(deps, c.req.valid('param').id, actorOf(c));
    return c.body(null, 204);
  });
}
