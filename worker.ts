import { NativeConnection } from '@temporalio/worker';
import { loadConfig } from './src/config.js';
import { createLogger } from './src/log.js';
import { createSmtpMailer } from './src/mail/mailer.js';
import { loadPayloadCodec, loadSecretBox, openMigratedDatabase } from './src/runtime.js';
import { createInvitationWorker } from './src/temporal/worker.js';
import { serveWorkerMetrics } from './src/metrics.js';

/**
 * The worker process on its own, against external Temporal, Postgres and SMTP (api.md
 * names). Run several for capacity; they share the task queue.
 */
const config = loadConfig();
const log = createLogger(config.LOG_LEVEL);
const missing = (['DATABASE_URL', 'TEMPORAL_ADDRESS', 'SMTP_URL'] as const).filter((name) => !config[name]);
if (missing.length) {
  log.fatal(`worker.ts needs ${missing.join(', ')}; for everything embedded use npm start.`);
  process.exit(1);
}
const database = await openMigratedDatabase(config);
const mailer = createSmtpMailer(config.SMTP_URL!, config);
const connection = await NativeConnection.connect({ address: config.TEMPORAL_ADDRESS! });
const worker = await createInvitationWorker({
  connection,
  namespace: config.TEMPORAL_NAMESPACE,
  taskQueue: config.TEMPORAL_TASK_QUEUE,
  deps: { db: database.db, mailer, secretBox: loadSecretBox(config), config },
  payloadCodec: loadPayloadCodec(config),
  tuning: config,
  ...(config.WORKER_WORKFLOW_BUNDLE ? { workflowBundle: { codePath: config.WORKER_WORKFLOW_BUNDLE } } : {}),
});
const metrics = config.WORKER_METRICS_PORT ? await serveWorkerMetrics(config.WORKER_METRICS_PORT) : undefined;
if (metrics) log.info(`worker metrics on http://127.0.0.1:${config.WORKER_METRICS_PORT}/metrics`);
log.info(`worker polling ${config.TEMPORAL_NAMESPACE}/${config.TEMPORAL_TASK_QUEUE} on ${config.TEMPORAL_ADDRESS}`);
await worker.run(); // returns after SIGINT/SIGTERM, which the SDK handles
metrics?.close();
mailer.close();
await connection.close();
await database.close();
