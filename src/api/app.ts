import { OpenAPIHono } from '@hono/zod-openapi';
import type { AppDeps } from '../deps.js';
import { DomainError, failureStatus } from '../errors.js';
import { registerDocs } from './docs.js';
import { registerEmailRoutes } from './emails/routes.js';
import { registerEmailTemplateRoutes } from './email-templates/routes.js';
import { registerInvitationRoutes } from './invitations/routes.js';
import { limitBody, requireAdmin, requireJsonBody, type ApiEnv } from './middleware.js';
import { createMetrics, registerOpsRoutes } from './ops/routes.js';
import { problemResponse, toDomainError, validationError } from './problem.js';
import { registerPages } from './public/pages.js';
import { registerPublicRoutes } from './public/routes.js';
import { registerUserRoutes } from './users/routes.js';

export function createApp(deps: AppDeps) {
  const app = new OpenAPIHono<ApiEnv>({
    // Every schema failure becomes the same 422 problem document, field by field.
    defaultHook: (result) => {
      if (!result.success) throw validationError(result.error);
    },
  });
  const metrics = createMetrics();

  app.use('*', metrics.middleware);
  app.use('/api/*', limitBody(64 * 1024), requireJsonBody);
  const admin = requireAdmin(deps.adminKeys);
  app.use('/api/v1/*', async (c, next) => {
    if (c.req.path.startsWith('/api/v1/public/') || c.req.path === '/api/v1/openapi.json') return next();
    return admin(c, next);
  });

  registerInvitationRoutes(app, deps);
  registerUserRoutes(app, deps);
  registerEmailRoutes(app, deps);
  registerEmailTemplateRoutes(app, deps);
  registerPublicRoutes(app, deps);
  registerPages(app);
  registerOpsRoutes(app, deps, metrics);
  registerDocs(app);

  app.openAPIRegistry.registerComponent('securitySchemes', 'bearerAuth', { type: 'http', scheme: 'bearer' });
  app.doc31('/api/v1/openapi.json', {
    openapi: '3.1.0',
    info: {
      title: 'Invitation service',
      version: '1.0.0',
      description: 'Invites users by email and keeps their account status right (shared/spec/api.md). Errors are RFC 9457 problem documents.',
    },
  });

  app.notFound((c) => problemResponse(c, new DomainError('NotFound', `Nothing at ${c.req.method} ${c.req.path}.`)));
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
