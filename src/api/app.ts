import { OpenAPIHono } from '@hono/zod-openapi';
import type { AppDeps } from '../deps.js';
import { DomainError, failureStatus } from '../errors.js';
import { registerDocs } from './docs.js';
import { registerEmailRoutes } from './emails/routes.js';
import { registerEmailTemplateRoutes } from './email-templates/routes.js';
import { registerInvitationRoutes } from './invitations/routes.js';
import { registerApiKeyRoutes } from './api-keys/routes.js';
import { routeRequirements } from './api-keys/security.js';
import { registerAuditRoutes } from './audit/routes.js';
import { allowedMethods, authenticate, limitBody, noStore, requireJsonBody, type ApiEnv } from './middleware.js';
import { BULK_PATH, registerBulkRoutes } from './bulk/routes.js';
import { createMetrics, registerOpsRoutes, type Metrics } from './ops/routes.js';
import { problemResponse, toDomainError, validationError } from './problem.js';
import { registerPages } from './public/pages.js';
import { registerPublicRoutes } from './public/routes.js';
import { publicRateLimits } from './rate-limits.js';
import { loginAccountKey } from '../accounts/user.service.js';
import { registerConsole } from '../console/app.js';
import { registerUserRoutes } from './users/routes.js';
import { registerWebhookRoutes } from './webhooks/routes.js';
import { activeTracing } from '../telemetry.js';
import { traceRequests } from './tracing.js';

/** `metrics`: pass your own to serve them (servedMetrics, on METRICS_PORT); the app never serves them itself. */
export function createApp(deps: AppDeps, metrics: Metrics = createMetrics()) {
  const app = new OpenAPIHono<ApiEnv>({
    // Every schema failure becomes the same 422 problem document, field by field. The
    // validator also hands over what was sent (untyped here), to tell "wrong type" from "missing".
    defaultHook: (result) => {
      if (!result.success) throw validationError(result.error, (result as { data?: unknown }).data);
    },
  });

  // First, so the span covers everything below it (off unless tracing is configured).
  if (activeTracing()) app.use('*', traceRequests);
  app.use('*', metrics.middleware);
  app.use('/api/*', noStore);
  // Authentication and scopes first: a caller without the right key learns nothing else,
  // not even which content types or body sizes an operation takes.
  const admin = authenticate(deps, routeRequirements(app));
  app.use('/api/v1/*', async (c, next) => {
    if (c.req.path.startsWith('/api/v1/public/') || c.req.path === '/api/v1/openapi.json') return next();
    return admin(c, next);
  });
  // Bulk invitations take CSV too, and a larger body: their route sets its own rules.
  const general = [limitBody(64 * 1024), requireJsonBody];
  for (const rule of general) app.use('/api/*', (c, next) => (c.req.path === BULK_PATH ? next() : rule(c, next)));

  registerInvitationRoutes(app, deps);
  registerBulkRoutes(app, deps);
  registerUserRoutes(app, deps);
  registerEmailRoutes(app, deps);
  registerEmailTemplateRoutes(app, deps);
  registerAuditRoutes(app, deps);
  registerApiKeyRoutes(app, deps);
  registerWebhookRoutes(app, deps);
  const limits = publicRateLimits(deps.config, (loginName) => loginAccountKey(deps, loginName));
  registerPublicRoutes(app, deps, limits);
  registerConsole(app, deps, limits);
  registerPages(app, deps.config);
  registerOpsRoutes(app, deps);
  registerDocs(app);

  app.openAPIRegistry.registerComponent('securitySchemes', 'bearerAuth', {
    type: 'http',
    scheme: 'bearer',
    description:
      'ADMIN_API_KEY (the bootstrap key, every scope), or a named API key (isk_…) holding the scope listed on the operation. A revoked key is a 401; a key without the scope a 403 naming it.',
  });
  app.openAPIRegistry.registerComponent('securitySchemes', 'bootstrapKey', {
    type: 'http',
    scheme: 'bearer',
    description: 'ADMIN_API_KEY only: named API keys cannot manage keys, whatever their scopes.',
  });
  app.doc31('/api/v1/openapi.json', {
    openapi: '3.1.0',
    info: {
      title: 'Invitation service',
      version: '1.0.0',
      description:
        'Invites users by email and keeps their account status right: invited, active once a password is set, inactive when the link lapses. ' +
        'The rule numbers (R1–R13) in the summaries are those of docs/rules.md in the repository. ' +
        'Admin operations need "Authorization: Bearer <key>": ADMIN_API_KEY, or a named API key holding the scope the operation lists; it is checked before anything else. ' +
        'Errors are RFC 9457 problem documents; a wrong method on an existing path answers 405 with Allow.',
    },
  });

  const methodsOf = allowedMethods(app);
  app.notFound((c) => {
    const allow = methodsOf(c.req.path);
    // OPTIONS asks which methods there are (RFC 9110 9.3.7): that is an answer, not an error.
    if (allow.length && c.req.method === 'OPTIONS') return c.body(null, 204, { allow: allow.join(', ') });
    if (allow.length === 0 || allow.includes(c.req.method)) {
      return problemResponse(c, new DomainError('NotFound', `Nothing at ${c.req.method} ${c.req.path}.`));
    }
    return problemResponse(c, new DomainError('MethodNotAllowed', `${c.req.path} answers ${allow.join(', ')}, not ${c.req.method}.`, { allow }));
  });
  app.onError((error, c) => {
    const domain = toDomainError(error);
    if (domain && !(error instanceof DomainError)) deps.log.warn({ err: error, path: c.req.path }, 'mapped a low-level error to a problem');
    if (domain) {
      metrics.problems.inc({ type: domain.type, status: String(failureStatus[domain.type]) });
      return problemResponse(c, domain);
    }
    deps.log.error({ err: error, path: c.req.path, method: c.req.method }, 'unhandled error');
    return c.json(
      { type: 'about:blank', title: 'Internal Server Error', status: 500, detail: 'Something went wrong on our side; it has been logged.' },
      500,
      { 'content-type': 'application/problem+json' },
    );
  });
  return app;
}
