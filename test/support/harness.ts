import { randomBytes } from 'node:crypto';
import { serve, type ServerType } from '@hono/node-server';
import { Client, Connection } from '@temporalio/client';
import type { PayloadCodec } from '@temporalio/common';
import { DefaultLogger, NativeConnection, Runtime } from '@temporalio/worker';
import postgres from 'postgres';
import { inject } from 'vitest';
import { createApp } from '../../src/api/app.js';
import { createMetrics, servedMetrics } from '../../src/api/ops/routes.js';
import { loadConfig, type Config } from '../../src/config.js';
import { openDatabase, type DatabaseHandle } from '../../src/db/database.js';
import type { AppDeps } from '../../src/deps.js';
import { startMailCatcher, type MailCatcher, type MailCatcherOptions } from '../../src/dev/mail-catcher.js';
import { createLogger } from '../../src/log.js';
import { createSmtpMailer } from '../../src/mail/mailer.js';
import { createSecretBox } from '../../src/mail/secret-box.js';
import { loadPayloadCodec } from '../../src/runtime.js';
import { dataConverterFor, type PayloadEncryptionCodec } from '../../src/temporal/payload-codec.js';
import { createInvitationWorker, type InvitationWorker, type WorkerSetup } from '../../src/temporal/worker.js';
import { isLoopbackAddress, type WebhookNetwork } from '../../src/webhooks/address-policy.js';
import { startWebhookDispatcher } from '../../src/webhooks/dispatcher.js';
import { wakeWebhookDispatcherOnCommit } from '../../src/webhooks/wake-up.js';
import { webhookDispatcherWorkflowId } from '../../src/workflows/webhook.messages.js';

let runtimeInstalled = false;
export function quietTemporalRuntime() {
  if (runtimeInstalled) return;
  runtimeInstalled = true;
  try {
    // Tests crash activities on purpose; their retries would flood the output at WARN.
    Runtime.install({ logger: new DefaultLogger('ERROR') });
  } catch {
    // already installed by another helper in this process
  }
}

export const ADMIN_KEY = 'test-admin-key-0123456789abcdef';

/** A database of its own for one test file, cloned from the migrated template. */
export async function cloneDatabase(): Promise<{ url: string; handle: DatabaseHandle; drop(): Promise<void> }> {
  const adminUrl = inject('pgAdminUrl');
  const template = inject('templateDatabase');
  const name = `${template.replace('_tmpl_', '_t_')}_${randomBytes(4).toString('hex')}`;
  const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
  await admin.unsafe(`create database ${name} template ${template}`);
  const url = Object.assign(new URL(adminUrl), { pathname: `/${name}` }).toString();
  const handle = await openDatabase({ url, dataDir: '.data' });
  return {
    url,
    handle,
    async drop() {
      await handle.close();
      await admin.unsafe(`drop database if exists ${name} with (force)`);
      await admin.end();
    },
  };
}

export function testConfig(overrides: Record<string, string> = {}): Config {
  return loadConfig({
    PUBLIC_BASE_URL: 'http://localhost:3999',
    ADMIN_API_KEY: ADMIN_KEY,
    EMAIL_ENCRYPTION_KEY: randomBytes(32).toString('hex'),
    TEMPORAL_PAYLOAD_KEYS: `test-${randomBytes(3).toString('hex')}:${randomBytes(32).toString('base64')}`,
    TEMPORAL_TASK_QUEUE: `test-${randomBytes(6).toString('hex')}`,
    LOG_LEVEL: 'silent',
    // In-process requests share one client address; tests of the limits set their own.
    RATE_LIMIT_PER_MINUTE: '100000',
    LOGIN_FAILURES_PER_15_MIN: '100000',
    LOGIN_FAILURES_PER_ACCOUNT_PER_HOUR: '100000',
    RESET_MAILS_PER_HOUR: '100000',
    ...overrides,
  });
}

export interface Harness {
  config: Config;
  deps: AppDeps;
  db: AppDeps['db'];
  mail: MailCatcher;
  client: Client;
  /** The codec the harness's client and worker seal payloads with (keys of TEMPORAL_PAYLOAD_KEYS). */
  payloadCodec: PayloadEncryptionCodec;
  worker: InvitationWorker;
  app: ReturnType<typeof createApp>;
  /** What the API's metrics port (METRICS_PORT) would serve for this app, never on its routes. */
  metrics(): Promise<string>;
  /** In-process request against the Hono app (real routing, middleware and error mapping). */
  api(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<{ status: number; body: any; headers: Headers }>;
  /** Starts a real HTTP server for the browser tests. */
  listen(): Promise<string>;
  /** A new worker; with `payloadCodec`, it (and later restarts) seal and open with that one. */
  restartWorker(wrap?: WorkerSetup['wrapActivities'], options?: { payloadCodec?: PayloadCodec }): Promise<void>;
  /** Stops the worker (as a crashed process would stop polling); restartWorker starts a new one. */
  stopWorker(): Promise<void>;
  /** How many forgot-password workflows this harness has started (by visibility). */
  countResetWorkflows(): Promise<number>;
  /**
   * Waits until at least `atLeast` forgot-password workflows exist and none is running: then
   * no reset mail can still be on its way, so "no mail arrived" is a fact, not a guess.
   */
  resetWorkflowsSettled(atLeast: number): Promise<void>;
  close(): Promise<void>;
}

/**
 * The network webhooks see in every test: names resolve only through this table (never real
 * DNS), and a delivery may connect to loopback only, whatever WEBHOOK_ALLOW_PRIVATE says. So
 * an endpoint a test or the contract fuzzer registers with a public URL is refused at the
 * socket, and nothing a test does sends traffic off this machine.
 */
export function testWebhookNetwork(hosts: Record<string, string[]> = {}): WebhookNetwork {
  const table: Record<string, string[]> = { localhost: ['127.0.0.1', '::1'], ...hosts };
  return {
    resolve: async (hostname) => {
      const addresses = table[hostname.toLowerCase()];
      if (!addresses) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' });
      return addresses;
    },
    mayConnect: isLoopbackAddress,
  };
}

/** The whole service for one test file, on the run's dev server, a fresh database and a real SMTP catcher. */
export async function startHarness(
  options: {
    config?: Record<string, string>;
    mail?: MailCatcherOptions;
    wrapActivities?: WorkerSetup['wrapActivities'];
    /** Run the webhook dispatcher on this file's task queue (as worker.ts does). */
    webhooks?: boolean;
    /** Extra host names for the webhook resolver (testWebhookNetwork). */
    webhookHosts?: Record<string, string[]>;
  } = {},
): Promise<Harness> {
  quietTemporalRuntime();
  const mail = await startMailCatcher({ smtpPort: 0, httpPort: null, ...options.mail });
  const database = await cloneDatabase();
  const config = testConfig({ SMTP_URL: mail.smtpUrl, ...options.config });
  const address = inject('temporalAddress');
  const payloadCodec = loadPayloadCodec(config);
  let workerCodec: PayloadCodec = payloadCodec;
  const client = new Client({ connection: await Connection.connect({ address }), namespace: config.TEMPORAL_NAMESPACE, dataConverter: dataConverterFor(payloadCodec) });
  const nativeConnection = await NativeConnection.connect({ address });
  const mailer = createSmtpMailer(mail.smtpUrl, config);
  const webhookNetwork = testWebhookNetwork(options.webhookHosts);
  const workerDeps = { db: database.handle.db, mailer, secretBox: createSecretBox(Buffer.from(config.EMAIL_ENCRYPTION_KEY!, 'hex')), config, webhookNetwork };
  const deps: AppDeps = { db: database.handle.db, temporal: client, config, log: createLogger('silent'), adminKeys: [ADMIN_KEY], webhookNetwork };
  const metrics = createMetrics();
  const app = createApp(deps, metrics);

  const makeWorker = (wrap?: WorkerSetup['wrapActivities']) =>
    createInvitationWorker({
      connection: nativeConnection,
      namespace: config.TEMPORAL_NAMESPACE,
      taskQueue: config.TEMPORAL_TASK_QUEUE,
      deps: workerDeps,
      payloadCodec: workerCodec,
      workflowBundle: { codePath: inject('workflowBundlePath') },
      tuning: config,
      ...(wrap ? { wrapActivities: wrap } : {}),
    });
  let worker = await makeWorker(options.wrapActivities);
  let running = worker.run();
  if (options.webhooks) await startWebhookDispatcher(client, config);
  // As worker.ts does: the worker process delivers new outbox rows at commit. It lives and dies
  // with the worker here, as it does with the worker process in production.
  const wakeUps = () => (options.webhooks ? wakeWebhookDispatcherOnCommit(database.handle, client, { ...workerDeps, log: deps.log }) : Promise.resolve(async () => {}));
  let stopWakingDispatcher = await wakeUps();
  let server: ServerType | undefined;
  const resetWorkflows = async () => {
    const statuses: string[] = [];
    const query = `WorkflowType = "passwordResetWorkflow" AND TaskQueue = "${config.TEMPORAL_TASK_QUEUE}"`;
    for await (const wf of client.workflow.list({ query })) statuses.push(wf.status.name);
    return statuses;
  };

  const harness: Harness = {
    config,
    deps,
    db: database.handle.db,
    mail,
    client,
    payloadCodec,
    get worker() {
      return worker;
    },
    app,
    metrics: () => servedMetrics(metrics).metrics(),
    async api(method, path, body, headers = {}) {
      const init: RequestInit = { method, headers: { authorization: `Bearer ${ADMIN_KEY}`, ...headers } };
      if (body !== undefined) {
        init.body = typeof body === 'string' ? body : JSON.stringify(body);
        (init.headers as Record<string, string>)['content-type'] ??= 'application/json';
      }
      const res = await app.request(path, init);
      const text = await res.text();
      let parsed: unknown = text;
      try {
        parsed = text ? JSON.parse(text) : undefined;
      } catch {
        // not JSON: keep the text
      }
      return { status: res.status, body: parsed, headers: res.headers };
    },
    async listen() {
      server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' });
      await new Promise((resolve) => server!.once('listening', resolve));
      const { port } = server.address() as { port: number };
      return `http://127.0.0.1:${port}`;
    },
    async stopWorker() {
      await stopWakingDispatcher();
      if (worker.getState() === 'RUNNING') worker.shutdown();
      await running;
    },
    async restartWorker(wrap, restartOptions) {
      if (restartOptions?.payloadCodec) workerCodec = restartOptions.payloadCodec;
      if (worker.getState() === 'RUNNING') worker.shutdown();
      await running;
      worker = await makeWorker(wrap);
      running = worker.run();
      await stopWakingDispatcher();
      stopWakingDispatcher = await wakeUps();
    },
    async countResetWorkflows() {
      return (await resetWorkflows()).length;
    },
    async resetWorkflowsSettled(atLeast) {
      await eventually(async () => {
        const all = await resetWorkflows();
        return all.length >= atLeast && all.every((status) => status !== 'RUNNING');
      }, 20_000, 'forgot-password workflows to finish');
    },
    async close() {
      server?.close();
      await stopWakingDispatcher();
      // The dispatcher would otherwise wait on the dev server for a worker that never comes back.
      if (options.webhooks) await client.workflow.getHandle(webhookDispatcherWorkflowId(config.TEMPORAL_TASK_QUEUE)).terminate('test over').catch(() => {});
      if (worker.getState() === 'RUNNING') worker.shutdown();
      await running;
      mailer.close();
      await nativeConnection.close();
      await client.connection.close();
      await mail.close();
      await database.drop();
    },
  };
  return harness;
}

/** Pulls the personal link out of a caught mail's plain text. */
export function linkFrom(text: string, path = '/invitations/accept'): { url: string; token: string } {
  const match = new RegExp(`(https?://\\S+${path.replace(/\//g, '\\/')}\\S*#token=([A-Za-z0-9_-]+))`).exec(text);
  if (!match) throw new Error(`no ${path} link in mail:\n${text}`);
  return { url: match[1]!, token: match[2]! };
}

export async function eventually<T>(check: () => Promise<T | undefined | false>, timeoutMs = 15_000, what = 'condition'): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
