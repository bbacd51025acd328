import { createRoute, z, type OpenAPIHono } from '@hono/zod-openapi';
import { collectDefaultMetrics, Counter, Histogram, Registry } from 'prom-client';
import type { MiddlewareHandler } from 'hono';
import { routePath } from 'hono/route';
import type { AppDeps } from '../../deps.js';
import { defaultRegistry } from '../../metrics.js';
import { readiness } from '../../ops/readiness.js';
import type { ApiEnv } from '../middleware.js';
import { json } from '../schemas.js';

export function createMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const requests = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'HTTP requests by route and status',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [registry],
  });
  const problems = new Counter({
    name: 'http_problems_total',
    help: 'Problem documents answered, by type',
    labelNames: ['type', 'status'] as const,
    registers: [registry],
  });
  const middleware: MiddlewareHandler = async (c, next) => {
    const end = requests.startTimer({ method: c.req.method });
    await next();
    // The route pattern, not the path: ids must not explode the label space.
    end({ route: routePath(c) || 'unmatched', status: String(c.res.status) });
  };
  return { registry, middleware, problems };
}
export type Metrics = ReturnType<typeof createMetrics>;

const Readiness = z.object({
  status: z.enum(['ready', 'not ready']),
  database: z.string().openapi({ description: '"ok", or "unavailable: <why>"' }),
  temporal: z.string().openapi({ description: '"ok", or "unavailable: <why>"' }),
});

const healthRoute = createRoute({
  method: 'get',
  path: '/healthz',
  tags: ['Operations'],
  summary: 'The process is up',
  responses: { 200: json(z.object({ status: z.literal('ok') }), 'Up') },
});

const readyRoute = createRoute({
  method: 'get',
  path: '/readyz',
  tags: ['Operations'],
  summary: 'The database and Temporal answer (each probed with a 2 s deadline)',
  responses: { 200: json(Readiness, 'Ready'), 503: json(Readiness, 'Not ready: the body says which dependency is missing') },
});

/**
 * What the API's metrics port serves (METRICS_PORT, src/metrics.ts): the HTTP metrics and the
 * domain counters. Never a route of the app: on the public port they would tell anyone how many
 * keys were minted, how many logins, invites and resends happened (issue 15.5).
 */
export function servedMetrics(metrics: Metrics): Registry {
  return Registry.merge([metrics.registry, defaultRegistry]);
}

export function registerOpsRoutes(app: OpenAPIHono<ApiEnv>, deps: AppDeps) {
  app.openapi(healthRoute, (c) => c.json({ status: 'ok' as const }, 200));
  app.openapi(readyRoute, async (c) => {
    const { ready, database, temporal } = await readiness(deps);
    return ready ? c.json({ status: 'ready' as const, database, temporal }, 200) : c.json({ status: 'not ready' as const, database, temporal }, 503);
  });
}

