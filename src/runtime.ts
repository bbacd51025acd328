import { randomBytes } from 'node:crypto';
import type { Server } from 'node:http';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import type { PayloadCodec } from '@temporalio/common';
import { OpenTelemetryWorkflowClientInterceptor } from '@temporalio/interceptors-opentelemetry';
import { serveCodecEndpoint, type CodecEndpoint } from './api/temporal-codec/routes.js';
import { ConfigError, loadConfig, type Config } from './config.js';
import { apiConnectionOptions } from './temporal/calls.js';
import { explainConnectFailure, temporalTransport } from './temporal/connection.js';
import { migrateToLatest, openDatabase, type DatabaseHandle } from './db/database.js';
import { createSecretBox, parseKeys, type SecretBox } from './mail/secret-box.js';
import { checkSecretBoxKeys, KeyCheckError } from './mail/sealed-values.js';
import { activeTracing } from './telemetry.js';
import { dataConverterFor, parsePayloadKeys, PAYLOAD_KEYS_SETTING, PayloadEncryptionCodec } from './temporal/payload-codec.js';

/** Shared start-up steps of the combined dev process, the API process and the worker. */

export type ProcessRole = 'api' | 'worker';

const ROLE_NAMES: Record<ProcessRole, string> = { api: 'The API process (npm run start:api)', worker: 'The worker (npm run start:worker)' };

/**
 * What a production process needs that the embedded `npm start` makes up for itself: the
 * external services, and the secrets every process sharing them must share. Pure, so a test
 * can ask it; `loadProcessConfig` below is the one place the processes call.
 */
export function processStartProblems(config: Config, role: ProcessRole, env: Record<string, string | undefined> = process.env): string[] {
  const problems: string[] = [];
  const services = role === 'api' ? (['DATABASE_URL', 'TEMPORAL_ADDRESS'] as const) : (['DATABASE_URL', 'TEMPORAL_ADDRESS', 'SMTP_URL'] as const);
  for (const name of services) if (!config[name]) problems.push(`${name}: required (for everything embedded use npm start)`);
  // Both processes open and seal values in the shared database (webhook secrets, logged
  // links), and both exchange sealed payloads through Temporal: a key made up per process
  // would seal what the others cannot open.
  if (!config.EMAIL_ENCRYPTION_KEY) problems.push('EMAIL_ENCRYPTION_KEY: required, the same in every process (npm run keys makes one)');
  else {
    try {
      parseKeys(config.EMAIL_ENCRYPTION_KEY);
    } catch (error) {
      problems.push((error as Error).message);
    }
  }
  if (!config.TEMPORAL_PAYLOAD_KEYS) problems.push(`${PAYLOAD_KEYS_SETTING}: required, the same in every process (npm run keys makes one)`);
  // A generated admin key would differ per API process, and only its log would know it.
  if (role === 'api' && env.NODE_ENV === 'production' && !config.ADMIN_API_KEY) problems.push('ADMIN_API_KEY: required in production, at least 16 characters (npm run keys makes one)');
  return problems;
}

/**
 * The configuration of a production process, or its end: every bad or missing setting on
 * one line each, no stack trace, exit code 1. The message names settings, never their values.
 */
export function loadProcessConfig(role: ProcessRole, env: Record<string, string | undefined> = process.env): Config {
  let problems: string[];
  try {
    const config = loadConfig(env);
    problems = processStartProblems(config, role, env);
    if (!problems.length) return config;
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    problems = error.problems;
    // Settings the schema accepted can still be missing for this process: say those too.
    const named = new Set(problems.map((p) => p.split(':')[0]!));
    try {
      const rest = loadConfig({ ...env, ...Object.fromEntries([...named].map((name) => [name, undefined])) });
      problems.push(...processStartProblems(rest, role, env).filter((p) => !named.has(p.split(':')[0]!)));
    } catch {
      // Only the schema's own list, then.
    }
  }
  process.stderr.write(`${ROLE_NAMES[role]} cannot start:\n${problems.map((p) => `  - ${p}`).join('\n')}\n`);
  process.exit(1);
}

export async function openMigratedDatabase(config: Config): Promise<DatabaseHandle> {
  const handle = await openDatabase({ url: config.DATABASE_URL, dataDir: config.DATA_DIR });
  // Migrations take a lock (Kysely's migration lock table), so several processes may race here safely.
  await migrateToLatest(handle.db);
  return handle;
}

/**
 * The API's client. `lazy` connects on first use instead of checking the server now.
 * TLS, client certificate and API key come from the TEMPORAL_TLS_* / TEMPORAL_API_KEY settings.
 */
export async function connectTemporal(config: Config, address: string, payloadCodec: PayloadCodec, { lazy = false } = {}): Promise<Client> {
  const transport = temporalTransport(config);
  const options = { ...apiConnectionOptions(address), ...transport };
  const connection = lazy ? Connection.lazy(options) : await Connection.connect(options).catch(async (error: unknown) => Promise.reject(await explainConnectFailure(error, address, transport)));
  // With tracing on, workflow starts (and signals, updates) carry the caller's trace context.
  const interceptors = activeTracing() ? { workflow: [new OpenTelemetryWorkflowClientInterceptor()] } : undefined;
  return new Client({ connection, namespace: config.TEMPORAL_NAMESPACE, dataConverter: dataConverterFor(payloadCodec), ...(interceptors && { interceptors }) });
}

/**
 * A key that must be the same in every process sharing some state: configured (`setting`)
 * wherever processes share that state through an external service (`sharedThrough`); for a
 * single local setup it is created once under DATA_DIR, beside the state it protects.
 */
function localKey(config: Config, key: { setting: string; value: string | undefined; sharedThrough: string | undefined; file: string; create: () => string; format: string }): string {
  if (key.value) return key.value;
  if (key.sharedThrough) {
    throw new Error(`${key.setting} is required with ${key.sharedThrough} (${key.format}): every process must share it.`);
  }
  const file = path.join(config.DATA_DIR, key.file);
  if (!existsSync(file)) {
    mkdirSync(config.DATA_DIR, { recursive: true });
    writeFileSync(file, key.create(), { mode: 0o600 });
  }
  chmodSync(file, 0o600);
  return readFileSync(file, 'utf8').trim();
}

/** The keys for logged links and webhook secrets ("key,key,…", the first seals); shared through the database. */
export function loadSecretBox(config: Config): SecretBox {
  return createSecretBox(
    parseKeys(
      localKey(config, {
        setting: 'EMAIL_ENCRYPTION_KEY',
        value: config.EMAIL_ENCRYPTION_KEY,
        sharedThrough: config.DATABASE_URL && 'DATABASE_URL',
        file: 'email-encryption.key',
        create: () => randomBytes(32).toString('base64'),
        format: '"key,key,…", 32-byte keys as 64 hex digits or base64, the first one seals',
      }),
    ),
  );
}

/**
 * The start check of EMAIL_ENCRYPTION_KEY (security.md): keys that cannot open what the
 * database holds end the process with one line naming the setting, before anything is sealed.
 */
export async function exitUnlessSecretBoxOpensDatabase(database: DatabaseHandle, secretBox: SecretBox, log: { fatal(message: string): void }): Promise<void> {
  try {
    await checkSecretBoxKeys(database.db, secretBox);
  } catch (error) {
    if (!(error instanceof KeyCheckError)) throw error;
    log.fatal(error.message);
    await database.close();
    process.exit(1);
  }
}

/**
 * The keys sealing Temporal payloads; shared through Temporal's histories, so required with
 * TEMPORAL_ADDRESS. The embedded dev server keeps its histories in DATA_DIR, and the key beside them.
 */
export function loadPayloadCodec(config: Config): PayloadEncryptionCodec {
  const spec = localKey(config, {
    setting: PAYLOAD_KEYS_SETTING,
    value: config.TEMPORAL_PAYLOAD_KEYS,
    sharedThrough: config.TEMPORAL_ADDRESS && 'TEMPORAL_ADDRESS',
    file: 'temporal-payload.keys',
    create: () => `local-${randomBytes(4).toString('hex')}:${randomBytes(32).toString('base64')}`,
    format: '"keyId:key,…", 32-byte keys as hex or base64, the first one encrypts',
  });
  return new PayloadEncryptionCodec(parsePayloadKeys(spec));
}

/**
 * The codec endpoint for Temporal UI, on its own port (see src/api/temporal-codec/routes.ts).
 * Unless configured, it admits the embedded UI's origins.
 */
export function startCodecEndpoint(config: Config, codec: PayloadCodec, port: number): Promise<CodecEndpoint> {
  const uiOrigins = [`http://localhost:${config.TEMPORAL_UI_PORT}`, `http://127.0.0.1:${config.TEMPORAL_UI_PORT}`];
  return serveCodecEndpoint({
    codec,
    namespace: config.TEMPORAL_NAMESPACE,
    allowedOrigins: config.TEMPORAL_CODEC_CORS_ORIGINS ?? uiOrigins,
    host: config.TEMPORAL_CODEC_HOST,
    port,
  });
}

/** Where the local bootstrap key is kept when ADMIN_API_KEY is unset. */
export function adminKeyFile(config: Config): string {
  return path.join(config.DATA_DIR, 'admin-api.key');
}

/**
 * The bootstrap admin key: ADMIN_API_KEY, or for local use one created once under DATA_DIR
 * (mode 600) beside the other local keys, so it survives a restart and is never written
 * into a log or the start-up output: they name the file. (An API process in production
 * refuses to start without ADMIN_API_KEY instead: each replica would make its own.)
 */
export function adminKey(config: Config): { key: string; file: string | null } {
  if (config.ADMIN_API_KEY) return { key: config.ADMIN_API_KEY, file: null };
  const key = localKey(config, {
    setting: 'ADMIN_API_KEY',
    value: undefined,
    sharedThrough: undefined,
    file: path.basename(adminKeyFile(config)),
    create: () => randomBytes(32).toString('base64url'),
    format: 'at least 16 characters',
  });
  return { key, file: adminKeyFile(config) };
}

/**
 * A graceful stop of an HTTP server: no new connections, requests already received run to
 * their answer, idle keep-alive connections close. Whatever is still open after `graceMs`
 * is cut, so a client that never finishes cannot hold the shutdown.
 */
export function drainHttpServer(server: Pick<Server, 'close' | 'closeIdleConnections' | 'closeAllConnections' | 'listening'>, graceMs: number): Promise<void> {
  return new Promise((resolve) => {
    if (!server.listening) return resolve();
    const cut = setTimeout(() => server.closeAllConnections(), graceMs);
    cut.unref();
    server.close(() => {
      clearTimeout(cut);
      resolve();
    });
    server.closeIdleConnections();
  });
}

/** What a stopping worker may take beyond WORKER_SHUTDOWN_GRACE_TIME: closing its connections and the database pool. */
export const SHUTDOWN_MARGIN_MS = 5_000;

/**
 * Bounds a worker's shutdown whatever happened before (issue 19.6: one that had lived through
 * a Postgres outage and a Temporal restart sat in DRAINING for over 30 s after SIGINT). Armed
 * when the shutdown starts (a signal, or run() ending by itself); if the process has not exited
 * by the grace time plus SHUTDOWN_MARGIN_MS, it says so and exits 1. Activities it cut off are
 * retried by another worker, as after a crash. Unref'd: a shutdown that finishes exits at once.
 */
export function shutdownWatchdog(graceMs: number, log: { fatal(details: object, message: string): void }, exit: (code: number) => void = (code) => process.exit(code)) {
  let timer: NodeJS.Timeout | undefined;
  const arm = (reason: string) => {
    if (timer) return;
    const limitMs = graceMs + SHUTDOWN_MARGIN_MS;
    timer = setTimeout(() => {
      log.fatal({ reason, limitMs }, 'worker shutdown did not finish within WORKER_SHUTDOWN_GRACE_TIME plus margin; exiting');
      exit(1);
    }, limitMs);
    timer.unref();
  };
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => arm(signal));
  return { arm };
}
