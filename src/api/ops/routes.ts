import type { OpenAPIHono } from '@hono/zod-openapi';
import { collectDefaultMetrics, Counter, Histogram, Registry } from 'prom-client';
import type { MiddlewareHandler } from 'hono';
import { routePath } from 'hono/route';
import type { AppDeps } from '../../deps.js';
import { defaultRegistry } from '../../metrics.js';
import { readiness } from '../../ops/readiness.js';
import type { ApiEnv } from '../middleware.js';

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

export function registerOpsRoutes(app: OpenAPIHono<ApiEnv>, deps: AppDeps, metrics: Metrics) {
  app.get('/healthz', (c) => c.json({ status: 'ok' }));
  app.get('/readyz', async (c) => {
    const { ready, database, temporal } = await readiness(deps);
    return c.json({ status: ready ? 'ready' : 'not ready', database, temporal }, ready ? 200 : 503);
  });
  const all = Registry.merge([metrics.registry, defaultRegistry]);
  app.get('/metrics', async (c) => c.body(await all.metrics(), 200, { 'content-type': all.contentType }));
}

