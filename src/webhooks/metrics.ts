import { Counter, register } from 'prom-client';

/** In the default registry, served by the API's /metrics and the worker's WORKER_METRICS_PORT. */
export const webhookAttempts = new Counter({
  name: 'webhook_delivery_attempts_total',
  help: 'Webhook delivery attempts by outcome (succeeded, failed: a non-2xx answer, unreachable, refused: address not allowed)',
  labelNames: ['outcome'] as const,
  registers: [register],
});

export const webhookEndpointsDisabled = new Counter({
  name: 'webhook_endpoints_disabled_total',
  help: 'Webhook endpoints disabled because every attempt failed for WEBHOOK_RETRY_WINDOW',
  registers: [register],
});
