import { createRoute, z, type OpenAPIHono } from '@hono/zod-openapi';
import type { Config } from '../../config.js';
import type { AppDeps } from '../../deps.js';
import { checkIdempotencyKey } from '../../invitations/idempotency.js';
import { inviteUser, revokeInvitationById } from '../../invitations/invitation.service.js';
import { PRIVILEGE_SCOPE, requirePrivilegeScope, requires } from '../api-keys/security.js';
import { actorOf, type ApiEnv } from '../middleware.js';
import { admission } from '../admission.js';
import {
  ActorExtendedHeader,
  ActorHeader,
  actorHeader,
  adminProblems,
  bodyProblems,
  EmailField,
  json,
  jsonBody,
  LocaleField,
  MetadataField,
  PermissionsField,
  problem,
  Timestamp,
  unavailable,
  UsernameField,
  userTypeField,
  UserSchema,
  Uuid,
} from '../schemas.js';

const inviteBody = (config: Config) =>
  z
    .object({
      username: UsernameField.openapi({ example: 'erika.muster' }),
      email: EmailField.openapi({ example: 'erika@example.com' }),
      userType: userTypeField(config.USER_TYPES).openapi({ example: config.USER_TYPES[0], description: 'One of the configured USER_TYPES' }),
      isStaff: z.boolean().optional(),
      permissions: PermissionsField.optional(),
      metadata: MetadataField.optional(),
      redirectUrl: z
        .string()
        .max(2048)
        .optional()
        .openapi({ format: 'uri', example: 'https://app.example.com/welcome', description: 'Where the accept page sends the invitee on to once the password is set; its origin must be one of ACCEPT_REDIRECT_ORIGINS (else 422). Default: ACCEPT_REDIRECT_URL' }),
      locale: LocaleField.optional().openapi({ description: `The invitee's language for mails and pages (default ${config.DEFAULT_LOCALE}, the configured DEFAULT_LOCALE)` }),
    })
    .strict()
    .openapi('InviteRequest');

const inviteRoute = (config: Config) =>
  createRoute({
    method: 'post',
    path: '/api/v1/invitations',
    tags: ['Invitations'],
    summary: 'Invite a person (R1–R3): creates the user as invited and mails a personal link',
    description: `Needs the scope invitations:write. Inviting with \`isStaff: true\` or any \`permissions\` grants privileges, which is editing a user: a named key then needs ${PRIVILEGE_SCOPE} as well (403 naming it otherwise).`,
    security: requires('invitations:write'),
    request: {
      ...jsonBody(inviteBody(config)),
      headers: z.object({
        'x-actor': ActorHeader,
        'x-actor*': ActorExtendedHeader,
        'idempotency-key': z.string().optional().openapi({
          description: 'A retry with the same key returns the first result (header Idempotent-Replayed: true) and never creates a second invitation; the same key with a different body is a 422.',
          example: 'b6f0c8e2-invite-erika',
          // checkIdempotencyKey's rule, for the document: 1–255 printable ASCII characters, no spaces.
          minLength: 1,
          maxLength: 255,
          pattern: '^[!-~]+$',
        }),
      }),
    },
    responses: {
      201: {
        ...json(z.object({ user: UserSchema, invitation: z.object({ id: Uuid, expiresAt: Timestamp }) }), 'Invited'),
        headers: z.object({
          Location: z.string().openapi({ description: 'The new user' }),
          'Idempotent-Replayed': z.literal('true').optional().openapi({ description: 'Present when this answers a retry with the same Idempotency-Key' }),
        }),
      },
      ...adminProblems,
      403: problem(`A named API key without invitations:write, or without ${PRIVILEGE_SCOPE} when isStaff is true or permissions are given (\`requiredScope\` names the one missing)`),
      ...bodyProblems,
      404: problem('The user was deleted again while being invited'),
      409: problem('Username or email already in use'),
      422: problem('Invalid fields, an invalid Idempotency-Key, or a key used before for a different request'),
      ...unavailable,
    },
  });

const revokeRoute = createRoute({
  method: 'delete',
  path: '/api/v1/invitations/{id}',
  tags: ['Invitations'],
  summary: 'Revoke a pending invitation: the link stops working, the user becomes inactive',
  security: requires('invitations:write'),
  request: { params: z.object({ id: z.string() }), ...actorHeader },
  responses: {
    204: { description: 'Revoked (or already revoked)' },
    ...adminProblems,
    404: problem('No such invitation'),
    409: problem('Already accepted or expired'),
    413: problem('A body was sent, and it is larger than 64 KiB'),
    ...unavailable,
  },
});

export function registerInvitationRoutes(app: OpenAPIHono<ApiEnv>, deps: AppDeps) {
  const invites = admission('invitations', deps.config.INVITE_MAX_IN_FLIGHT);
  app.openapi(inviteRoute(deps.config), async (c) => {
    const key = c.req.valid('header')['idempotency-key'];
    requirePrivilegeScope(c.get('scopes'), [c.req.valid('json')]);
    const idempotency = key === undefined ? undefined : { principal: c.get('principal'), key: checkIdempotencyKey(key) };
    const result = await invites.run(() => inviteUser(deps, c.req.valid('json'), actorOf(c), idempotency));
    c.header('location', `/api/v1/users/${result.user.id}`);
    if (result.replayed) c.header('idempotent-replayed', 'true');
    return c.json({ user: result.user, invitation: result.invitation }, 201);
  });
  app.openapi(revokeRoute, async (c) => {
    await revokeInvitationById(deps, c.req.valid('param').id, actorOf(c));
    return c.body(null, 204);
  });
}
