import type { Server } from 'node:http';
import { serve } from '@hono/node-server';
import type { Connection } from '@temporalio/client';
import { ensureSearchAttributes } from '../temporal/search-attributes.js';
import { createLogger } from '../log.js';
import { startTracing } from '../telemetry.js';
import { adminKey, loadProcessConfig, connectTemporal, drainHttpServer, exitUnlessSecretBoxOpensDatabase, loadPayloadCodec, loadSecretBox, openMigratedDatabase, startCodecEndpoint } from '../runtime.js';
import { describeTemporalTransport, temporalTransport } from '../temporal/connection.js';
import { serveMetrics } from '../metrics.js';
import { createApp } from './app.js';
import { createMetrics, servedMetrics } from './ops/routes.js';

/**
 * The API process on its own, against external Postgres and Temporal (api.md names).
 * Several can run side by side behind a load balancer. `npm start` runs everything in one.
 */
// Every setting it needs, secrets included, is checked here and listed at once (runtime.ts).
const config = loadProcessConfig('api');
const log = createLogger(config.LOG_LEVEL);
// Before the client and app are made: they add their tracing only when it is on (OTEL_* env).
const tracing = startTracing('invitation-api');
const payloadCodec = loadPayloadCodec(config);
const database = await openMigratedDatabase(config);
// It seals webhook secrets: with a wrong EMAIL_ENCRYPTION_KEY it must not start (issue 19.2).
await exitUnlessSecretBoxOpensDatabase(database, loadSecretBox(config), log);
const temporal = await connectTemporal(config, config.TEMPORAL_ADDRESS!, payloadCodec);
log.info(`Temporal ${config.TEMPORAL_NAMESPACE} on ${config.TEMPORAL_ADDRESS} (${describeTemporalTransport(temporalTransport(config))})`);
// Invitations are started with our search attributes; make sure the cluster knows them.
await ensureSearchAttributes(temporal.connection as Connection, config.TEMPORAL_NAMESPACE);
const admin = adminKey(config);
// The file, never the key: a log is read by more people than the key is meant for.
if (admin.file) log.warn(`ADMIN_API_KEY unset: using the local key in ${admin.file} (not for production)`);
const metrics = createMetrics();
const app = createApp({ db: database.db, temporal, config, log, adminKeys: [admin.key] }, metrics);
const server = serve({ fetch: app.fetch, port: config.PORT, hostname: config.HOST }, (info) =>
  log.info(`API listening on http://${info.address}:${info.port}`),
);
const metricsServer = config.METRICS_PORT === undefined ? undefined : await serveMetrics(servedMetrics(metrics), config.METRICS_PORT, config.METRICS_HOST);
if (metricsServer) log.info(`API metrics on http://${config.METRICS_HOST}:${config.METRICS_PORT}/metrics`);
// Only where asked for: several API processes on one host would fight over one port.
const codecEndpoint = config.TEMPORAL_CODEC_PORT === undefined ? undefined : await startCodecEndpoint(config, payloadCodec, config.TEMPORAL_CODEC_PORT);
if (codecEndpoint) log.info(`Temporal codec endpoint on ${codecEndpoint.url}`);

// SIGTERM (a rolling deploy) or Ctrl-C: stop accepting, let requests already received get
// their answer (API_SHUTDOWN_GRACE_TIME at most), and only then close what they use.
const shutdown = async () => {
  log.info('stopping: no new connections; requests in flight finish');
  await drainHttpServer(server as Server, config.API_SHUTDOWN_GRACE_TIME);
  await codecEndpoint?.close();
  metricsServer?.close();
  await temporal.connection.close();
  await database.close();
  await tracing?.shutdown();
  process.exit(0);
};
process.once('SIGINT', shutdown);
process.once('SIGTERM', shutdown);
