import { Client } from '@temporalio/client';
import { createLogger } from './src/log.js';
import { createSmtpMailer } from './src/mail/mailer.js';
import { exitUnlessSecretBoxOpensDatabase, loadProcessConfig, loadPayloadCodec, loadSecretBox, openMigratedDatabase, shutdownWatchdog } from './src/runtime.js';
import { connectWorkerTemporal, createInvitationWorker } from './src/temporal/worker.js';
import { describeTemporalTransport, temporalTransport } from './src/temporal/connection.js';
import { serveWorkerMetrics } from './src/metrics.js';
import { dataConverterFor } from './src/temporal/payload-codec.js';
import { startWebhookDispatcher } from './src/webhooks/dispatcher.js';
import { wakeWebhookDispatcherOnCommit } from './src/webhooks/wake-up.js';
import { startInvitationReconciler } from './src/invitations/reconciler.js';
import { startTracing } from './src/telemetry.js';

/**
 * The worker process on its own, against external Temporal, Postgres and SMTP (api.md
 * names). Run several for capacity; they share the task queue.
 */
// Every setting it needs, secrets included, is checked here and listed at once (runtime.ts).
const config = loadProcessConfig('worker');
const log = createLogger(config.LOG_LEVEL);
// Before the worker is made: it adds its tracing interceptors only when it is on (OTEL_* env).
const tracing = startTracing('invitation-worker');
const database = await openMigratedDatabase(config);
const secretBox = loadSecretBox(config);
// A wrong EMAIL_ENCRYPTION_KEY must stop here, not strand mails it cannot open (issue 19.2).
await exitUnlessSecretBoxOpensDatabase(database, secretBox, log);
const mailer = createSmtpMailer(config.SMTP_URL!, config);
const connection = await connectWorkerTemporal(config, config.TEMPORAL_ADDRESS!);
const worker = await createInvitationWorker({
  connection,
  namespace: config.TEMPORAL_NAMESPACE,
  taskQueue: config.TEMPORAL_TASK_QUEUE,
  deps: { db: database.db, mailer, secretBox, config },
  shutdownGraceTime: config.WORKER_SHUTDOWN_GRACE_TIME,
  payloadCodec: loadPayloadCodec(config),
  tuning: config,
  ...(config.WORKER_WORKFLOW_BUNDLE ? { workflowBundle: { codePath: config.WORKER_WORKFLOW_BUNDLE } } : {}),
});
// The webhook dispatcher is a workflow of this task queue; each worker makes sure it runs.
const client = new Client({ connection, namespace: config.TEMPORAL_NAMESPACE, dataConverter: dataConverterFor(loadPayloadCodec(config)) });
await startWebhookDispatcher(client, config);
const stopWakingDispatcher = await wakeWebhookDispatcherOnCommit(database, client, { secretBox, config, log });
// Likewise the reconciler, which restarts pending invitations whose workflow an operator ended.
await startInvitationReconciler(client, config);
const metrics = config.WORKER_METRICS_PORT ? await serveWorkerMetrics(config.WORKER_METRICS_PORT) : undefined;
if (metrics) log.info(`worker metrics on http://127.0.0.1:${config.WORKER_METRICS_PORT}/metrics`);
log.info(`worker polling ${config.TEMPORAL_NAMESPACE}/${config.TEMPORAL_TASK_QUEUE} (and its -mail, -webhooks queues) on ${config.TEMPORAL_ADDRESS} (${describeTemporalTransport(temporalTransport(config))})`);
// SIGINT/SIGTERM (the SDK's runtime handles them) stop polling; running activities get
// WORKER_SHUTDOWN_GRACE_TIME to finish, then are cancelled, fail, and are retried by another
// worker. run() returns once nothing runs; only then close what the activities used.
// The SDK's own handler (shutdownSignals) starts the shutdown; the watchdog bounds it.
const watchdog = shutdownWatchdog(config.WORKER_SHUTDOWN_GRACE_TIME, log);
let exitCode = 0;
try {
  await worker.run();
} catch (error) {
  log.fatal({ err: (error as Error).message }, 'worker failed');
  exitCode = 1;
}
watchdog.arm('worker stopped running');
metrics?.close();
await stopWakingDispatcher();
mailer.close();
await connection.close();
await database.close();
await tracing?.shutdown();
log.info('worker stopped');
// An SMTP attempt given up at the grace time may still hold its socket; nothing waits for it.
process.exit(exitCode);
