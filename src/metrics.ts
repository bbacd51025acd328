import { Counter, register } from 'prom-client';

/**
 * Domain metrics, in prom-client's default registry so that whichever process runs the
 * step counts it; `GET /metrics` serves them beside the HTTP metrics.
 */
export const recordsGone = new Counter({
  name: 'invitation_records_gone_total',
  help: 'Workflow steps that found their database record gone (a restore or a manual delete) and ended the workflow',
  labelNames: ['step'] as const,
  registers: [register],
});

export const defaultRegistry = register;
