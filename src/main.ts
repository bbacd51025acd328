import { randomBytes } from 'node:crypto';
import type { Server } from 'node:http';
import { serve } from '@hono/node-server';
import type { Connection } from '@temporalio/client';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { createApp } from './api/app.js';
import { createMetrics, servedMetrics } from './api/ops/routes.js';
import { loadConfig } from './config.js';
import { startMailCatcher, type MailCatcher } from './dev/mail-catcher.js';
import { recordRunningService } from './dev/running-service.js';
import { startTemporalDevServer, type DevServer } from './dev/temporal-dev-server.js';
import { createLogger } from './log.js';
import { createSmtpMailer } from './mail/mailer.js';
import { adminKey, connectTemporal, drainHttpServer, exitUnlessSecretBoxOpensDatabase, loadPayloadCodec, loadSecretBox, openMigratedDatabase, startCodecEndpoint } from './runtime.js';
import { ensureSearchAttributes } from './temporal/search-attributes.js';
import { startWebhookDispatcher } from './webhooks/dispatcher.js';
import { wakeWebhookDispatcherOnCommit } from './webhooks/wake-up.js';
import { startInvitationReconciler } from './invitations/reconciler.js';
import { inviteFirstStaffUnlessAny, type FirstStaff } from './accounts/first-staff.js';
import { connectWorkerTemporal, createInvitationWorker } from './temporal/worker.js';
import { startTracing } from './telemetry.js';
import { serveMetrics } from './metrics.js';

/**
 * `npm start`: the whole service in one process on embedded defaults — a Temporal dev server
 * with its UI, PGlite under ./.data, a mail catcher with a web inbox — each replaced by the
 * real thing when its variable (TEMPORAL_ADDRESS, DATABASE_URL, SMTP_URL) is set.
 */
const config = loadConfig();
const log = createLogger(config.LOG_LEVEL);
// The worker's own INFO lines (webpack's bundle report, state changes) would bury the
// start-up summary; warnings and errors still show. LOG_LEVEL=debug brings them back.
// No shutdownSignals: `stop` below orders the shutdown itself. The SDK's own handler would
// stop the worker at once, while requests still being drained wait for its workflow tasks.
Runtime.install({ logger: new DefaultLogger(config.LOG_LEVEL === 'debug' || config.LOG_LEVEL === 'trace' ? 'INFO' : 'WARN'), shutdownSignals: [] });
const cleanups: Array<() => Promise<unknown> | unknown> = [];
// Before the client, worker and app are made: they add their tracing only when it is on.
const tracing = startTracing('invitation-service');

async function main() {
  const database = await openMigratedDatabase(config);
  const secretBox = loadSecretBox(config);
  await exitUnlessSecretBoxOpensDatabase(database, secretBox, log);
  cleanups.push(() => database.close());

  // Everything this process hands to Temporal is sealed; the UI decodes through the codec endpoint.
  const payloadCodec = loadPayloadCodec(config);
  const codecEndpoint = await startCodecEndpoint(config, payloadCodec, config.TEMPORAL_CODEC_PORT ?? 8234);
  cleanups.push(() => codecEndpoint.close());

  let devServer: DevServer | undefined;
  if (!config.TEMPORAL_ADDRESS) {
    devServer = await startTemporalDevServer({
      dbFile: `${config.DATA_DIR}/temporal.db`,
      port: config.TEMPORAL_DEV_PORT,
      uiPort: config.TEMPORAL_UI_PORT,
      namespace: config.TEMPORAL_NAMESPACE,
      uiCodecEndpoint: codecEndpoint.url,
    });
    cleanups.push(() => devServer!.stop());
  }
  const temporalAddress = config.TEMPORAL_ADDRESS ?? devServer!.address;
  const temporal = await connectTemporal(config, temporalAddress, payloadCodec);
  cleanups.unshift(() => temporal.connection.close());
  if (!devServer) await ensureSearchAttributes(temporal.connection as Connection, config.TEMPORAL_NAMESPACE);

  let catcher: MailCatcher | undefined;
  if (!config.SMTP_URL) {
    // Its mails outlive a restart, like the invitations whose links they carry.
    catcher = await startMailCatcher({ smtpPort: config.MAILCATCHER_SMTP_PORT, httpPort: config.MAILCATCHER_HTTP_PORT, storeFile: `${config.DATA_DIR}/mail-catcher.json` });
    cleanups.push(() => catcher!.close());
  }
  const mailer = createSmtpMailer(config.SMTP_URL ?? catcher!.smtpUrl, config);
  cleanups.push(() => mailer.close());

  const connection = await connectWorkerTemporal(config, temporalAddress);
  const worker = await createInvitationWorker({
    connection,
    namespace: config.TEMPORAL_NAMESPACE,
    taskQueue: config.TEMPORAL_TASK_QUEUE,
    deps: { db: database.db, mailer, secretBox, config },
    shutdownGraceTime: config.WORKER_SHUTDOWN_GRACE_TIME,
    payloadCodec,
    tuning: config,
  });
  const workerDone = worker.run();
  await startWebhookDispatcher(temporal, config);
  const stopWakingDispatcher = await wakeWebhookDispatcherOnCommit(database, temporal, { secretBox, config, log });
  await startInvitationReconciler(temporal, config);
  cleanups.unshift(async () => {
    await stopWakingDispatcher();
    if (worker.getState() === 'RUNNING') worker.shutdown();
    await workerDone;
    await connection.close();
  });

  const admin = adminKey(config);
  const metrics = createMetrics();
  // The console links a user to their workflow in Temporal UI: the embedded UI's unless configured.
  const appConfig = Object.freeze({ ...config, TEMPORAL_UI_URL: config.TEMPORAL_UI_URL ?? devServer?.uiUrl });
  const appDeps = { db: database.db, temporal, config: appConfig, log, adminKeys: [admin.key] };
  const app = createApp(appDeps, metrics);
  if (config.METRICS_PORT !== undefined) {
    const metricsServer = await serveMetrics(servedMetrics(metrics), config.METRICS_PORT, config.METRICS_HOST);
    cleanups.push(() => metricsServer.close());
  }
  const server = serve({ fetch: app.fetch, port: config.PORT, hostname: config.HOST });
  // First to stop: requests already received finish (they may need the worker), then the worker drains.
  cleanups.unshift(() => drainHttpServer(server as Server, config.API_SHUTDOWN_GRACE_TIME));
  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve);
    server.once('error', reject);
  });

  const base = `http://localhost:${config.PORT}`;
  // Where the key is, never the key itself: this output ends up in terminals' scrollback and
  // in the logs of whatever runs `npm start` (issue 15.5).
  const bearer = admin.file ? `$(cat ${admin.file})` : '$ADMIN_API_KEY';
  // With the local inbox, a fresh start invites a first staff user there: the console needs one.
  const firstStaff = catcher ? await inviteFirstStaffUnlessAny(appDeps, { username: 'admin', email: 'admin@invitations.localhost', locale: 'en' }) : undefined;
  // A fresh name each start: the line copied after a restart does not answer 409 (name taken).
  const example = `erika.${randomBytes(3).toString('hex')}`;
  // So `npm run invite` in another terminal finds this service whatever PORT it was given.
  cleanups.push(recordRunningService(config.DATA_DIR, base));
  const lines = [
    '',
    'Invitation service is running.',
    `  API            ${base}/api/v1   (docs: ${base}/docs)`,
    `  Admin API key  ${admin.file ? `in ${admin.file}   (created once; set ADMIN_API_KEY to choose one)` : 'from ADMIN_API_KEY'}`,
    `  Temporal       ${temporalAddress}${devServer ? `   UI: ${devServer.uiUrl}` : ''}`,
    `  Codec endpoint ${codecEndpoint.url}   (payloads are encrypted; Temporal UI decodes through it)`,
    `  Mail inbox     ${catcher ? catcher.inboxUrl : `SMTP ${new URL(config.SMTP_URL!).host}`}`,
    `  Database       ${database.description}`,
    ...(config.METRICS_PORT !== undefined ? [`  Metrics        http://${config.METRICS_HOST}:${config.METRICS_PORT}/metrics`] : []),
    `  Console        ${base}/console   (staff sign in with their own password)`,
    ...consoleFirstSteps(firstStaff, base, catcher?.inboxUrl),
    `  Try: curl -X POST ${base}/api/v1/invitations -H "authorization: Bearer ${bearer}" -H 'content-type: application/json' \\`,
    `         -d '{"username":"${example}","email":"${example}@example.com","userType":"member","locale":"en"}'`,
    '',
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}

/** What a newcomer does to reach a signed-in console, in the start-up summary. */
function consoleFirstSteps(first: FirstStaff | undefined, base: string, inbox: string | undefined): string[] {
  switch (first?.outcome) {
    case 'invited':
      return [`                 First staff user "${first.username}" invited: open its mail in the inbox (${inbox}), follow the link, choose a password, then sign in at ${base}/console.`];
    case 'waiting':
      return [`                 Staff user "${first.username}" has no password yet: ask for one at ${base}/password/forgot with ${first.email}; the link arrives in the inbox (${inbox}).`];
    case 'exists':
      return [`                 Sign in as a staff user, e.g. "${first.username}".`];
    default:
      return [`                 A first staff user: POST ${base}/api/v1/invitations with "isStaff": true (README, "The staff console").`];
  }
}

let stopping = false;
async function stop(code: number) {
  if (stopping) return;
  stopping = true;
  for (const cleanup of cleanups) {
    try {
      await cleanup();
    } catch (error) {
      log.warn({ err: (error as Error).message }, 'while stopping');
    }
  }
  // Last, so the spans of the shutdown's final requests and activities are flushed too.
  await tracing?.shutdown().catch(() => undefined);
  process.exit(code);
}
process.once('SIGINT', () => void stop(0));
process.once('SIGTERM', () => void stop(0));

main().catch((error: Error) => {
  log.fatal(error.message);
  void stop(1);
});
