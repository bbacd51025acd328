import { createRoute, z, type OpenAPIHono } from '@hono/zod-openapi';
import type { AppDeps } from '../../deps.js';
import { acceptInvitationWithNextStep, inspectInvitation } from '../../invitations/invitation.service.js';
import { completePasswordReset, inspectPasswordReset, requestPasswordReset } from '../../password-resets/password-reset.service.js';
import { login } from '../../accounts/user.service.js';
import type { ApiEnv } from '../middleware.js';
import { RESET_REQUESTED_MESSAGE, type PublicRateLimits } from '../rate-limits.js';
import { bodyProblems, EmailField, json, jsonBody, PlainText, problem, rateLimited, Timestamp, unavailable, UserSchema } from '../schemas.js';

// Public bodies are strict: a stray `status` or `isStaff` is refused, never assigned (security.md 16).
const token = PlainText(200).openapi({ description: 'The token from the link (after #token=)' });
const password = z.string().max(1024).openapi({ description: '8–256 characters after NFKC; 15 or more recommended' });

const acceptRoute = createRoute({
  method: 'post',
  path: '/api/v1/public/invitations/accept',
  tags: ['Public'],
  summary: 'Accept an invitation by setting a password (R4)',
  request: jsonBody(z.object({ token, password }).strict().openapi('AcceptInvitationRequest')),
  responses: {
    200: json(
      z.object({
        user: UserSchema,
        redirectUrl: z.string().nullable().openapi({ format: 'uri', description: "The next step the accept page offers: the invitation's redirectUrl (while its origin is allowed), else ACCEPT_REDIRECT_URL, else null" }),
      }),
      'Accepted: the user is active',
    ),
    ...bodyProblems,
    410: problem('Link invalid, used, revoked or expired'),
    422: problem('Invalid fields, or a password that does not meet the rules'),
    ...rateLimited,
    ...unavailable,
  },
});

const inspectRoute = createRoute({
  method: 'post',
  path: '/api/v1/public/invitations/inspect',
  tags: ['Public'],
  summary: 'What the accept page shows before the password is chosen; never consumes the token',
  request: jsonBody(z.object({ token }).strict()),
  responses: {
    200: json(z.object({ username: z.string(), expiresAt: Timestamp, locale: z.enum(['de', 'en']), timeZone: z.string().openapi({ description: 'PLATFORM_TIMEZONE (IANA): the zone the mail named the deadline in', example: 'Europe/Berlin' }) }), 'The link is usable'),
    ...bodyProblems,
    410: problem('Link invalid, used, revoked or expired'),
    ...rateLimited,
  },
});

const loginRoute = createRoute({
  method: 'post',
  path: '/api/v1/public/login',
  tags: ['Public'],
  summary: 'Verify username-or-email and password; records the login',
  request: jsonBody(z.object({ login: PlainText(320), password }).strict().openapi('LoginRequest')),
  responses: {
    200: json(z.object({ user: UserSchema }), 'Logged in'),
    ...bodyProblems,
    401: problem('Wrong login or password'),
    403: problem('Account inactive: use forgot password'),
    ...rateLimited,
    ...unavailable,
  },
});

const resetRequestRoute = createRoute({
  method: 'post',
  path: '/api/v1/public/password-resets',
  tags: ['Public'],
  summary: 'Forgot password (R9): mails a reset link if a user has this address; the answer never says',
  request: jsonBody(z.object({ email: EmailField }).strict().openapi('PasswordResetRequest')),
  responses: {
    202: json(z.object({ message: z.string() }), 'Always the same, whether or not the address belongs to a user'),
    ...bodyProblems,
    422: problem('Not an email address'),
    ...rateLimited,
    ...unavailable,
  },
});

const resetInspectRoute = createRoute({
  method: 'post',
  path: '/api/v1/public/password-resets/inspect',
  tags: ['Public'],
  summary: 'What the reset page shows before the password is chosen; never consumes the token',
  request: jsonBody(z.object({ token }).strict()),
  responses: {
    200: json(z.object({ username: z.string(), expiresAt: Timestamp, locale: z.enum(['de', 'en']), timeZone: z.string().openapi({ description: 'PLATFORM_TIMEZONE (IANA): the zone the mail named the deadline in', example: 'Europe/Berlin' }) }), 'The link is usable'),
    ...bodyProblems,
    410: problem('Link invalid, used, superseded or expired'),
    ...rateLimited,
  },
});

const resetCompleteRoute = createRoute({
  method: 'post',
  path: '/api/v1/public/password-resets/complete',
  tags: ['Public'],
  summary: 'Set the new password: confirms the address and makes the user active (R9, R12)',
  request: jsonBody(z.object({ token, password }).strict().openapi('PasswordResetCompletion')),
  responses: {
    200: json(z.object({ user: UserSchema }), 'Password set; the user is active'),
    ...bodyProblems,
    410: problem('Link invalid, used, superseded or expired'),
    422: problem('Invalid fields, or a password that does not meet the rules'),
    ...rateLimited,
    ...unavailable,
  },
});

export function registerPublicRoutes(app: OpenAPIHono<ApiEnv>, deps: AppDeps, limits: PublicRateLimits) {
  app.use('/api/v1/public/*', limits.perClient);
  app.use('/api/v1/public/login', limits.loginFailures);
  app.openapi(acceptRoute, async (c) => {
    const body = c.req.valid('json');
    return c.json(await acceptInvitationWithNextStep(deps, body.token, body.password), 200);
  });
  app.openapi(resetRequestRoute, async (c) => {
    const { email } = c.req.valid('json');
    // The per-address cap is taken after validation; past it the answer is the same, without a mail.
    if (limits.resetMails.take(email)) await requestPasswordReset(deps, email);
    return c.json({ message: RESET_REQUESTED_MESSAGE }, 202);
  });
  app.openapi(resetInspectRoute, async (c) => c.json(await inspectPasswordReset(deps, c.req.valid('json').token), 200));
  app.openapi(resetCompleteRoute, async (c) => {
    const body = c.req.valid('json');
    return c.json({ user: await completePasswordReset(deps, body.token, body.password) }, 200);
  });
  app.openapi(inspectRoute, async (c) => c.json(await inspectInvitation(deps, c.req.valid('json').token), 200));
  app.openapi(loginRoute, async (c) => {
    const body = c.req.valid('json');
    return c.json({ user: await login(deps, body.login, body.password) }, 200);
  });
}
