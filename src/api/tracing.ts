import { context, propagation, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import type { MiddlewareHandler } from 'hono';
import { routePath } from 'hono/route';

const tracer = trace.getTracer('invitation-service/api');

/**
 * One server span per request (registered only when tracing is on, telemetry.ts), current while
 * the handler runs, so the Temporal client's interceptor starts workflows inside this trace.
 * A caller's W3C `traceparent` makes the request part of the caller's trace.
 */
export const traceRequests: MiddlewareHandler = async (c, next) => {
  const parent = propagation.extract(context.active(), Object.fromEntries(c.req.raw.headers));
  const span = tracer.startSpan(c.req.method, { kind: SpanKind.SERVER, attributes: { 'http.request.method': c.req.method, 'url.path': c.req.path } }, parent);
  try {
    await context.with(trace.setSpan(parent, span), next);
    // The route template, not the path: ids in paths would make every span name unique.
    const route = routePath(c, -1);
    span.updateName(`${c.req.method} ${route}`);
    span.setAttributes({ 'http.route': route, 'http.response.status_code': c.res.status });
    if (c.res.status >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
  } catch (error) {
    span.recordException(error as Error);
    span.setStatus({ code: SpanStatusCode.ERROR });
    throw error;
  } finally {
    span.end();
  }
};
