import { createRequire } from 'node:module';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { Resource } from '@opentelemetry/resources';
import { BasicTracerProvider, BatchSpanProcessor, ConsoleSpanExporter, type SpanExporter, type SpanProcessor } from '@opentelemetry/sdk-trace-base';

/**
 * OpenTelemetry tracing, optional: on only when the standard OTEL_* variables ask for it, so an
 * unconfigured process registers no provider at all (the OTel API then hands out no-op spans).
 * One provider per process, set up before the Temporal client, the worker and the HTTP app,
 * which look here to decide whether to add their interceptors and middleware.
 */

export interface Tracing {
  /** Also receives the workflow spans, which leave the sandbox through a sink. */
  spanProcessor: SpanProcessor;
  resource: Resource;
  /** Flushes what is still queued; call before the process exits. */
  shutdown(): Promise<void>;
}

let active: Tracing | undefined;

/** OTEL_TRACES_EXPORTER wins ("none" turns tracing off); otherwise an OTLP endpoint turns it on. */
export function tracingConfigured(env: NodeJS.ProcessEnv = process.env): boolean {
  const exporter = env.OTEL_TRACES_EXPORTER?.trim();
  if (exporter) return exporter !== 'none';
  return Boolean(env.OTEL_EXPORTER_OTLP_ENDPOINT || env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT);
}

function exporterFromEnv(env: NodeJS.ProcessEnv): SpanExporter {
  const name = env.OTEL_TRACES_EXPORTER?.trim() || 'otlp';
  if (name === 'otlp') {
    const protocol = env.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL ?? env.OTEL_EXPORTER_OTLP_PROTOCOL;
    if (protocol && protocol !== 'http/json' && protocol !== 'http/protobuf') {
      // This exporter speaks OTLP over HTTP (JSON); grpc would need another package.
      throw new Error(`OTEL_EXPORTER_OTLP_PROTOCOL=${protocol} is not supported; use http/json (OTLP over HTTP).`);
    }
    // Endpoint, headers and timeout come from the standard OTEL_EXPORTER_OTLP_* variables.
    return new OTLPTraceExporter();
  }
  if (name === 'console') return new ConsoleSpanExporter();
  throw new Error(`OTEL_TRACES_EXPORTER=${name} is not supported; use otlp, console or none.`);
}

/**
 * Sets up the process's tracer provider once, if tracing is configured (or a test hands in its
 * own span processor). Returns undefined, having done nothing, when it is not.
 */
export function startTracing(serviceName: string, options: { spanProcessor?: SpanProcessor; env?: NodeJS.ProcessEnv } = {}): Tracing | undefined {
  if (active) return active;
  const env = options.env ?? process.env;
  if (!options.spanProcessor && !tracingConfigured(env)) return undefined;
  const resource = new Resource({ 'service.name': env.OTEL_SERVICE_NAME || serviceName });
  const spanProcessor = options.spanProcessor ?? new BatchSpanProcessor(exporterFromEnv(env));
  const provider = new BasicTracerProvider({ resource, spanProcessors: [spanProcessor] });
  // AsyncLocalStorage keeps the request's span current across awaits (into the Temporal
  // client's interceptor); W3C trace context is what the Temporal interceptors propagate.
  provider.register({ contextManager: new AsyncLocalStorageContextManager(), propagator: new W3CTraceContextPropagator() });
  active = {
    spanProcessor,
    resource,
    shutdown: async () => {
      await provider.shutdown();
    },
  };
  return active;
}

/** The process's tracing, when startTracing turned it on. */
export function activeTracing(): Tracing | undefined {
  return active;
}

/**
 * The workflow-side interceptors (they run inside the workflow sandbox, so they are bundled
 * with the workflow code, not passed as objects).
 */
export const workflowTracingModule = createRequire(import.meta.url).resolve('@temporalio/interceptors-opentelemetry/lib/workflow-interceptors');
