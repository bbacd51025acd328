import { createServer, type Server } from 'node:http';
import { collectDefaultMetrics, Counter, register, type Registry } from 'prom-client';

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

/**
 * Every failed attempt of an activity, by type and failure: a step that cannot succeed (a
 * wrong key, a broken template, a dependency down) shows here before anyone reads a log.
 */
export const activityFailures = new Counter({
  name: 'invitation_activity_failures_total',
  help: 'Failed activity attempts in this worker, by activity type, local or not, and failure type (retried unless non-retryable)',
  labelNames: ['activity', 'local', 'failure'] as const,
  registers: [register],
});

/** Pending invitations whose workflow the reconciler found not running and restarted, by what it found. */
export const invitationsReconciled = new Counter({
  name: 'invitation_workflows_restarted_total',
  help: 'Pending invitations whose workflow was not running (terminated, canceled, failed, timed_out, completed, missing) and was restarted by the reconciler',
  labelNames: ['found'] as const,
  registers: [register],
});

export const defaultRegistry = register;

/**
 * A worker process on its own has no API: it serves its domain metrics (and Node's) on a
 * port of its own for Prometheus to scrape, bound to loopback like the other side doors.
 */
export function serveWorkerMetrics(port: number, host = '127.0.0.1'): Promise<Server> {
  collectDefaultMetrics({ register });
  return serveMetrics(register, port, host);
}

/**
 * `GET /metrics` of one registry on a port of its own (the worker's, the API's METRICS_PORT):
 * counts and timings are for the operators' scraper, not for whoever reaches the public port.
 */
export async function serveMetrics(registry: Registry, port: number, host = '127.0.0.1'): Promise<Server> {
  const server = createServer((req, res) => {
    if (req.method !== 'GET' || req.url !== '/metrics') {
      res.writeHead(404).end();
      return;
    }
    registry.metrics().then(
      (text) => res.writeHead(200, { 'content-type': registry.contentType }).end(text),
      () => res.writeHead(500).end(),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, resolve);
  });
  return server;
}

export const sealedValuesUnopenable = new Counter({
  name: 'sealed_values_unopenable_total',
  help: 'Sealed values (logged links, webhook secrets) that no key of EMAIL_ENCRYPTION_KEY opened',
  labelNames: ['what'] as const,
  registers: [register],
});

/** Re-sends refused by RESEND_LIMIT_PER_EMAIL / _PER_RECIPIENT (issue 15.3): a rising count is someone mail bombing, or a loop. */
export const resendsLimited = new Counter({
  name: 'email_resends_limited_total',
  help: 'Re-sends (POST /api/v1/emails/{id}/resend) refused with 429 by the per-mail or per-recipient limit',
  labelNames: ['limit'] as const,
  registers: [register],
});
