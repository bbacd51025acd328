/**
 * `npm run bench`: speed and memory of the invitation service on this machine, over real
 * HTTP on loopback, against the machine's Postgres, a Temporal dev server (in memory), an
 * in-process worker and an SMTP mail catcher. Prints a table and writes
 * bench/results/latest.json. See docs/benchmarks.md for what each number means.
 *
 * Knobs (env): BENCH_INVITES (300), BENCH_CONCURRENCY (8), BENCH_ACCEPTS (50),
 * BENCH_ACCEPT_CONCURRENCY (4), BENCH_SEARCHES (100), BENCH_BAD_REQUESTS (1000),
 * BENCH_RESENDS (100), BENCH_TEMPLATE_PREVIEWS (20), BENCH_MAIL_TIMEOUT_MS (120000), BENCH_MAX_SECONDS (600), BENCH_PG_ADMIN_URL,
 * BENCH_WEBHOOK_RATE (0: the invite phase's end-to-end rate), BENCH_WEBHOOK_SECONDS (20; 0 skips the webhook phase),
 * TEMPORAL_ADDRESS (use a running server instead of starting a dev server), BENCH_OUT.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { serve, type ServerType } from '@hono/node-server';
import type { Client, Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime } from '@temporalio/worker';
import postgres from 'postgres';
import { createApp } from '../src/api/app.js';
import { loadConfig } from '../src/config.js';
import { migrateToLatest, openDatabase, type DatabaseHandle } from '../src/db/database.js';
import { findTemporalCli } from '../src/dev/temporal-cli.js';
import { startMailCatcher, type CaughtMail, type MailCatcher } from '../src/dev/mail-catcher.js';
import { startTemporalDevServer, type DevServer } from '../src/dev/temporal-dev-server.js';
import { createLogger } from '../src/log.js';
import { createSmtpMailer, type Mailer } from '../src/mail/mailer.js';
import { connectTemporal, loadPayloadCodec, loadSecretBox } from '../src/runtime.js';
import { ensureSearchAttributes } from '../src/temporal/search-attributes.js';
import { bundleInvitationWorkflows } from '../src/temporal/bundle.js';
import { createInvitationWorker, type InvitationWorker } from '../src/temporal/worker.js';
import { freePort } from '../src/dev/ports.js';
import { measureReferences } from './orchestration.js';
import { openLoop, type OpenLoopResult } from './steady.js';
import { measureWebhookLag, type WebhookLagResult } from './webhook-lag.js';
import { startWebhookDispatcher } from '../src/webhooks/dispatcher.js';
import { wakeWebhookDispatcherOnCommit } from '../src/webhooks/wake-up.js';
import {
  commandVersion,
  envInt,
  findDevServerPid,
  findGc,
  latencyStats,
  machineBusySeconds,
  machineInfo,
  memorySample,
  pool,
  postgresPids,
  procCpuSeconds,
  procMemory,
  sumCpu,
  table,
  type LatencyStats,
  type MemorySample,
} from './lib.js';

const settings = {
  invites: envInt('BENCH_INVITES', 300, 1),
  concurrency: envInt('BENCH_CONCURRENCY', 8, 1),
  accepts: envInt('BENCH_ACCEPTS', 50, 0),
  acceptConcurrency: envInt('BENCH_ACCEPT_CONCURRENCY', 4, 1),
  searches: envInt('BENCH_SEARCHES', 100, 0),
  badRequests: envInt('BENCH_BAD_REQUESTS', 1000, 0),
  forgotRequests: envInt('BENCH_FORGOT_REQUESTS', 100, 0),
  resends: envInt('BENCH_RESENDS', 100, 0),
  templatePreviews: envInt('BENCH_TEMPLATE_PREVIEWS', 20, 0),
  mailTimeoutMs: envInt('BENCH_MAIL_TIMEOUT_MS', 120_000, 1000),
  maxSeconds: envInt('BENCH_MAX_SECONDS', 600, 10),
  steadyRate: envInt('BENCH_STEADY_RATE', 20, 1),
  steadySeconds: envInt('BENCH_STEADY_SECONDS', 60, 0),
  overloadSeconds: envInt('BENCH_OVERLOAD_SECONDS', 30, 0),
  /** 0: the rate the invite phase sustained end to end. */
  webhookRate: envInt('BENCH_WEBHOOK_RATE', 0, 0),
  webhookSeconds: envInt('BENCH_WEBHOOK_SECONDS', 20, 0),
};
settings.accepts = Math.min(settings.accepts, settings.invites);

const here = path.dirname(fileURLToPath(import.meta.url));
const outFile = process.env.BENCH_OUT ?? path.join(here, 'results', 'latest.json');
const adminUrl = process.env.BENCH_PG_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const dbName = `invitations_bench_${process.pid}`;
const ADMIN_KEY = `bench-admin-${randomBytes(12).toString('hex')}`;
const tag = process.pid.toString(36);

const cleanups: Array<{ what: string; run: () => Promise<unknown> | unknown }> = [];
const log = (line: string) => process.stderr.write(`[bench] ${line}\n`);

// ---------------------------------------------------------------------------------------------
// Phase bookkeeping

interface CpuSnapshot {
  at: number;
  self: NodeJS.CpuUsage;
  temporal: number | null;
  postgres: number;
  machine: number;
}

let devServerPid: number | undefined;

function cpuSnapshot(): CpuSnapshot {
  return {
    at: performance.now(),
    self: process.cpuUsage(),
    temporal: devServerPid === undefined ? null : procCpuSeconds(devServerPid),
    postgres: sumCpu(postgresPids()),
    machine: machineBusySeconds(),
  };
}

/** CPU seconds spent during a phase by this process (API + worker + client), the dev server and all postgres processes. */
function cpuSince(start: CpuSnapshot) {
  const end = cpuSnapshot();
  const r = (n: number) => Math.round(n * 100) / 100;
  const self = (end.self.user - start.self.user + end.self.system - start.self.system) / 1e6;
  const wall = (end.at - start.at) / 1000;
  const temporal = start.temporal === null || end.temporal === null ? null : end.temporal - start.temporal;
  const postgresCpu = end.postgres - start.postgres;
  return {
    wallSeconds: r(wall),
    benchProcessCpuSeconds: r(self),
    temporalCpuSeconds: temporal === null ? null : r(temporal),
    postgresCpuSeconds: r(postgresCpu),
    /** Everything else on the machine (e.g. a test run next door): makes a run suspect when high. */
    otherCpuSeconds: r(Math.max(0, end.machine - start.machine - self - (temporal ?? 0) - postgresCpu)),
  };
}

interface PhaseResult {
  requests: number;
  ok: number;
  errors: number;
  errorSamples: string[];
  throughputPerSecond: number;
  latencyMs: LatencyStats | null;
  cpu: ReturnType<typeof cpuSince>;
  concurrency: number;
}

class Phase {
  readonly samples: number[] = [];
  ok = 0;
  errors = 0;
  readonly errorSamples: string[] = [];
  private readonly cpu = cpuSnapshot();
  private readonly started = performance.now();

  constructor(private readonly concurrency: number) {}

  fail(message: string) {
    this.errors++;
    if (this.errorSamples.length < 5) this.errorSamples.push(message.slice(0, 300));
  }

  finish(): PhaseResult {
    const seconds = (performance.now() - this.started) / 1000;
    const requests = this.ok + this.errors;
    return {
      requests,
      ok: this.ok,
      errors: this.errors,
      errorSamples: this.errorSamples,
      throughputPerSecond: Math.round((requests / seconds) * 10) / 10,
      latencyMs: latencyStats(this.samples),
      cpu: cpuSince(this.cpu),
      concurrency: this.concurrency,
    };
  }
}

// ---------------------------------------------------------------------------------------------
// HTTP

let baseUrl = '';

async function call(method: string, pathname: string, options: { body?: string; admin?: boolean } = {}) {
  const headers: Record<string, string> = {};
  if (options.admin !== false) headers.authorization = `Bearer ${ADMIN_KEY}`;
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  const started = performance.now();
  const res = await fetch(`${baseUrl}${pathname}`, { method, headers, ...(options.body !== undefined ? { body: options.body } : {}) });
  const text = await res.text();
  const ended = performance.now();
  return { status: res.status, text, ms: ended - started, ended };
}

/** One timed request; counts it as ok only with the expected status. */
async function timed(phase: Phase, expected: number, method: string, pathname: string, options: { body?: string; admin?: boolean } = {}) {
  try {
    const res = await call(method, pathname, options);
    phase.samples.push(res.ms);
    if (res.status === expected) phase.ok++;
    else phase.fail(`${method} ${pathname} → ${res.status}: ${res.text}`);
    return res;
  } catch (error) {
    phase.fail(`${method} ${pathname} threw: ${(error as Error).message}`);
    return undefined;
  }
}

// ---------------------------------------------------------------------------------------------

/** The largest template body the API takes (src/api/email-templates/schemas.ts). */
const TEMPLATE_BODY_MAX = 20_000;
const TEMPLATE_HEAD = '<p><a class="button" href="{{invitationLink}}">Join</a></p>\n';

/** A template as staff write one, paragraphs with variables, filled up to the limit. */
function normalTemplateBody() {
  const paragraph = '<p>Hello {{username}}, welcome to {{productName}}. Your invitation is valid until {{expiresAt}}.</p>\n';
  let body = TEMPLATE_HEAD;
  while (body.length + paragraph.length + 7 < TEMPLATE_BODY_MAX) body += paragraph;
  return `${body}<p>${'x'.repeat(TEMPLATE_BODY_MAX - body.length - 7)}</p>`;
}

/** The same size, `{{` and spaces up to the limit: the input that froze the service (issue 15.1). */
function adversarialTemplateBody() {
  return `${TEMPLATE_HEAD}<p>{{${' '.repeat(TEMPLATE_BODY_MAX - TEMPLATE_HEAD.length - 9)}</p>`;
}

const TOKEN_LINK = /https?:\/\/\S+\/invitations\/accept\S*#token=([A-Za-z0-9_-]+)/;
const username = (i: number) => `b${tag}-${i}`;
const email = (i: number) => `bench-${tag}-${i}@example.com`;
const password = (i: number) => `bench passphrase ${i} long enough`;

async function main() {
  const gc = findGc();
  const machine = machineInfo();
  const startedAt = new Date();
  log(`settings ${JSON.stringify(settings)}`);

  // --- Postgres: a fresh database, migrated ---
  const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
  cleanups.push({ what: 'admin connection', run: () => admin.end() });
  const [{ server_version: postgresVersion } = { server_version: 'unknown' }] = await admin<{ server_version: string }[]>`show server_version`;
  await admin.unsafe(`drop database if exists ${dbName} with (force)`);
  await admin.unsafe(`create database ${dbName}`);
  cleanups.push({ what: `drop database ${dbName}`, run: () => admin.unsafe(`drop database if exists ${dbName} with (force)`) });
  const databaseUrl = Object.assign(new URL(adminUrl), { pathname: `/${dbName}` }).toString();
  const database: DatabaseHandle = await openDatabase({ url: databaseUrl, dataDir: '.data' });
  cleanups.push({ what: 'database pool', run: () => database.close() });
  await migrateToLatest(database.db);

  // --- Temporal ---
  Runtime.install({ logger: new DefaultLogger('ERROR') });
  let devServer: DevServer | undefined;
  let temporalAddress = process.env.TEMPORAL_ADDRESS;
  let temporalVersion: string;
  const setupStarted = performance.now();
  if (!temporalAddress) {
    const port = await freePort();
    devServer = await startTemporalDevServer({ port, uiPort: await freePort(), namespace: 'default', headless: true });
    cleanups.push({ what: 'temporal dev server', run: () => devServer!.stop() });
    temporalAddress = devServer.address;
    devServerPid = findDevServerPid(port);
    temporalVersion = commandVersion(findTemporalCli({ install: false }), ['--version']);
  } else {
    temporalVersion = `external server at ${temporalAddress}`;
  }
  const devServerStartMs = performance.now() - setupStarted;

  // --- Mail, config, worker, API ---
  // Mails per recipient, counted as they arrive (the catcher's own store keeps only the last 500).
  const mailsTo = new Map<string, number>();
  const catcher: MailCatcher = await startMailCatcher({
    smtpPort: 0,
    httpPort: null,
    onMail: (mail) => {
      for (const to of mail.to) mailsTo.set(to, (mailsTo.get(to) ?? 0) + 1);
    },
  });
  cleanups.push({ what: 'mail catcher', run: () => catcher.close() });
  const apiPort = await freePort();
  const config = loadConfig({
    PORT: String(apiPort),
    HOST: '127.0.0.1',
    PUBLIC_BASE_URL: `http://127.0.0.1:${apiPort}`,
    ADMIN_API_KEY: ADMIN_KEY,
    EMAIL_ENCRYPTION_KEY: randomBytes(32).toString('hex'),
    // Payloads are sealed as in production, so the numbers include the codec's cost.
    TEMPORAL_PAYLOAD_KEYS: `bench:${randomBytes(32).toString('base64')}`,
    SMTP_URL: catcher.smtpUrl,
    DATABASE_URL: databaseUrl,
    TEMPORAL_ADDRESS: temporalAddress,
    TEMPORAL_TASK_QUEUE: `bench-${randomBytes(6).toString('hex')}`,
    LOG_LEVEL: 'silent',
    // The webhook phase's receiver is on 127.0.0.1.
    WEBHOOK_ALLOW_PRIVATE: 'true',
    // All bench traffic comes from 127.0.0.1: the per-client limit on public endpoints (60/min
    // by default) would answer 429 after the first accepts. The limiter still runs on every request.
    RATE_LIMIT_PER_MINUTE: '1000000',
  });

  const payloadCodec = loadPayloadCodec(config);
  const temporal: Client = await connectTemporal(config, temporalAddress, payloadCodec);
  cleanups.push({ what: 'temporal client', run: () => temporal.connection.close() });
  if (devServer) {
    const info = await temporal.connection.workflowService.getSystemInfo({});
    temporalVersion += ` (server ${info.serverVersion ?? '?'})`;
  } else {
    const info = await temporal.connection.workflowService.getSystemInfo({});
    temporalVersion = `external server ${info.serverVersion ?? '?'} at ${temporalAddress}`;
    await ensureSearchAttributes(temporal.connection as Connection, config.TEMPORAL_NAMESPACE);
  }

  const mailer: Mailer = createSmtpMailer(catcher.smtpUrl, config);
  cleanups.push({ what: 'mailer', run: () => mailer.close() });

  const bundleStarted = performance.now();
  const bundle = await bundleInvitationWorkflows(log);
  const bundleMs = performance.now() - bundleStarted;
  const nativeConnection = await NativeConnection.connect({ address: temporalAddress });
  const worker: InvitationWorker = await createInvitationWorker({
    connection: nativeConnection,
    namespace: config.TEMPORAL_NAMESPACE,
    taskQueue: config.TEMPORAL_TASK_QUEUE,
    deps: { db: database.db, mailer, secretBox: loadSecretBox(config), config },
    payloadCodec,
    workflowBundle: { code: bundle.code },
    tuning: config,
  });
  let workerError: Error | undefined;
  const workerDone = worker.run().catch((error: Error) => {
    workerError = error;
    log(`worker stopped: ${error.message}`);
  });
  cleanups.push({
    what: 'worker',
    run: async () => {
      if (worker.getState() === 'RUNNING') worker.shutdown();
      await workerDone;
      await nativeConnection.close();
    },
  });

  const app = createApp({ db: database.db, temporal, config, log: createLogger('silent'), adminKeys: [ADMIN_KEY] });
  const server: ServerType = serve({ fetch: app.fetch, port: apiPort, hostname: '127.0.0.1' });
  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve);
    server.once('error', reject);
  });
  cleanups.push({
    what: 'api server',
    run: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        if ('closeAllConnections' in server) server.closeAllConnections();
      }),
  });
  baseUrl = `http://127.0.0.1:${apiPort}`;
  const setupMs = performance.now() - setupStarted;
  log(`set up in ${(setupMs / 1000).toFixed(1)} s (workflow bundle ${(bundleMs / 1000).toFixed(1)} s); API at ${baseUrl}, Temporal at ${temporalAddress}`);

  // One warm-up request per route family, so lazy initialisation isn't in the first sample.
  await call('GET', '/api/v1/users?limit=1');
  await call('POST', '/api/v1/invitations', { body: '{' });

  gc.gc?.();
  const memory: Record<string, MemorySample & { temporalDevServer?: ReturnType<typeof procMemory> }> = {};
  const sampleMemory = (label: string) => {
    memory[label] = { ...memorySample(), ...(devServerPid !== undefined ? { temporalDevServer: procMemory(devServerPid) } : {}) };
  };
  sampleMemory('beforeLoad');
  const loadCpu = cpuSnapshot();

  // --- 1 + 2: invite, and the mail that follows ---
  log(`invite: ${settings.invites} requests at concurrency ${settings.concurrency}`);
  const inviteToMail: number[] = [];
  const mails = new Map<number, CaughtMail>();
  const mailWaits: Array<Promise<void>> = [];
  let mailTimeouts = 0;
  let lastMailAt = 0;
  const invite = new Phase(settings.concurrency);
  const invitePhaseStart = performance.now();
  await pool(settings.invites, settings.concurrency, async (i) => {
    const to = email(i);
    // Registered before the request, so a mail that beats the response to the client is still seen.
    const seen = catcher.waitFor((m) => m.to.includes(to), settings.mailTimeoutMs).then(
      (mail) => ({ mail, at: performance.now() }),
      () => undefined,
    );
    const res = await timed(invite, 201, 'POST', '/api/v1/invitations', {
      body: JSON.stringify({ username: username(i), email: to, userType: 'member', locale: 'en' }),
    });
    if (res?.status !== 201) return;
    mailWaits.push(
      seen.then((hit) => {
        if (!hit) {
          mailTimeouts++;
          return;
        }
        mails.set(i, hit.mail);
        inviteToMail.push(hit.at - res.ended);
        lastMailAt = Math.max(lastMailAt, hit.at);
      }),
    );
  });
  const inviteResult = invite.finish();
  const invitePhaseEnd = performance.now();
  sampleMemory('afterInviteRequests');
  await Promise.all(mailWaits);
  const mailDrainMs = Math.max(0, lastMailAt - invitePhaseEnd);
  sampleMemory('afterInviteMailsDelivered');
  // The service end to end: from the first invite request to the last invitation mail at the catcher.
  const serviceEndToEnd = {
    count: inviteToMail.length,
    seconds: Math.round(invitePhaseEnd - invitePhaseStart + mailDrainMs) / 1000,
    perSecond: Math.round((inviteToMail.length / ((invitePhaseEnd - invitePhaseStart + mailDrainMs) / 1000)) * 10) / 10,
  };

  // --- 3: accept ---
  log(`accept: ${settings.accepts} at concurrency ${settings.acceptConcurrency}`);
  const acceptable = [...mails.keys()].sort((a, b) => a - b).slice(0, settings.accepts);
  const accept = new Phase(settings.acceptConcurrency);
  const accepted: number[] = [];
  await pool(acceptable.length, settings.acceptConcurrency, async (k) => {
    const i = acceptable[k]!;
    const token = TOKEN_LINK.exec(mails.get(i)!.text)?.[1];
    if (!token) {
      accept.fail(`no accept link in the mail to ${email(i)}`);
      return;
    }
    const res = await timed(accept, 200, 'POST', '/api/v1/public/invitations/accept', {
      admin: false,
      body: JSON.stringify({ token, password: password(i) }),
    });
    if (res?.status === 200) accepted.push(i);
  });
  const acceptResult = accept.finish();

  // --- 4: login ---
  log(`login: ${accepted.length} at concurrency ${settings.acceptConcurrency}`);
  const login = new Phase(settings.acceptConcurrency);
  await pool(accepted.length, settings.acceptConcurrency, async (k) => {
    const i = accepted[k]!;
    await timed(login, 200, 'POST', '/api/v1/public/login', { admin: false, body: JSON.stringify({ login: username(i), password: password(i) }) });
  });
  const loginResult = login.finish();

  // --- 5: user overview, paged and searched (sequential: latency without queueing) ---
  log('user overview: paging through all users, then searches');
  const pages = new Phase(1);
  let listed = 0;
  const seenIds = new Set<string>();
  let cursor: string | null = null;
  for (let page = 0; page < 10_000; page++) {
    const query: string = `/api/v1/users?limit=50${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
    const res = await timed(pages, 200, 'GET', query);
    if (res?.status !== 200) break;
    const body = JSON.parse(res.text) as { items: Array<{ id: string }>; nextCursor: string | null };
    listed += body.items.length;
    for (const item of body.items) seenIds.add(item.id);
    cursor = body.nextCursor;
    if (!cursor) break;
  }
  const pagesResult = pages.finish();
  // A correctness check on the side: paging must return every invited user exactly once.
  const paging = { usersExpected: inviteResult.ok, usersListed: listed, distinctUsers: seenIds.size };
  const pagingOk = listed === inviteResult.ok && seenIds.size === listed;
  if (!pagingOk) log(`paging returned ${listed} rows (${seenIds.size} distinct) for ${inviteResult.ok} users`);

  const search = new Phase(1);
  for (let s = 0; s < settings.searches; s++) {
    // Alternate a unique match (one user's email), a broad match (every bench user) and a miss.
    const i = (s * 7919) % settings.invites;
    const q = s % 3 === 0 ? `bench-${tag}-${i}@` : s % 3 === 1 ? `b${tag}-${i % 10}` : `nobody-${s}`;
    await timed(search, 200, 'GET', `/api/v1/users?limit=50&q=${encodeURIComponent(q)}`);
  }
  const searchResult = search.finish();

  // --- 5b: forgot password, an existing address vs an unknown one (security.md 9) ---
  // Sequential and interleaved, so both see the same machine; each known request uses another
  // user, so the per-address mail cap never applies.
  log(`forgot password: ${settings.forgotRequests} requests, known and unknown addresses interleaved`);
  const forgotKnown = new Phase(1);
  const forgotUnknown = new Phase(1);
  for (let i = 0; i < settings.forgotRequests; i++) {
    const known = i % 2 === 0;
    const address = known ? email(Math.floor(i / 2) % settings.invites) : `nobody-${tag}-${i}@example.com`;
    await timed(known ? forgotKnown : forgotUnknown, 202, 'POST', '/api/v1/public/password-resets', { body: JSON.stringify({ email: address }) });
  }
  const forgotKnownResult = forgotKnown.finish();
  const forgotUnknownResult = forgotUnknown.finish();

  // --- 5c: resend from the email log (R7): the API call, and the copies at the catcher ---
  const resendable = [...mails.keys()].filter((i) => !accepted.includes(i)).slice(0, settings.resends);
  log(`resend: ${resendable.length} invitation mails at concurrency ${settings.concurrency}`);
  const originals = new Map<string, string>();
  let logCursor: string | null = null;
  do {
    const res = await call('GET', `/api/v1/emails?type=user_invitation&limit=100${logCursor ? `&cursor=${encodeURIComponent(logCursor)}` : ''}`);
    const body = JSON.parse(res.text) as { items: Array<{ id: string; to: string; resentFrom: string | null }>; nextCursor: string | null };
    for (const item of body.items) if (!item.resentFrom) originals.set(item.to, item.id);
    logCursor = body.nextCursor;
  } while (logCursor);
  const resend = new Phase(settings.concurrency);
  const resendStarted = performance.now();
  const copyWaits: Array<Promise<number | undefined>> = [];
  await pool(resendable.length, settings.concurrency, async (k) => {
    const to = email(resendable[k]!);
    const res = await timed(resend, 202, 'POST', `/api/v1/emails/${originals.get(to) ?? 'missing'}/resend`);
    if (res?.status !== 202) return;
    const copyId = (JSON.parse(res.text) as { email: { id: string } }).email.id;
    copyWaits.push(
      catcher.waitFor((m) => m.headers['message-id'] === `<${copyId}@invitations.local>`, settings.mailTimeoutMs).then(
        () => performance.now(),
        () => undefined,
      ),
    );
  });
  const resendResult = resend.finish();
  const copyTimes = (await Promise.all(copyWaits)).filter((t): t is number => t !== undefined);
  const copiesSeconds = copyTimes.length ? (Math.max(...copyTimes) - resendStarted) / 1000 : 0;
  const resendDelivery = {
    copies: copyTimes.length,
    missing: resendResult.ok - copyTimes.length,
    /** From the first resend request until the last copy was at the catcher. */
    seconds: Math.round(copiesSeconds * 100) / 100,
    mailsPerSecond: copiesSeconds > 0 ? Math.round((copyTimes.length / copiesSeconds) * 10) / 10 : 0,
  };

  // --- 5d: template drafts at the body limit (issue 15.1): a normal one, and one built to make a
  // backtracking variable pattern take hours (`{{` and spaces, never closed). Both carry the link,
  // so both go the whole way (rules, sanitising, rendering) and should cost about the same.
  log(`template preview: ${settings.templatePreviews} normal and ${settings.templatePreviews} adversarial drafts of ${TEMPLATE_BODY_MAX} characters`);
  const templateNormal = new Phase(1);
  const templateAdversarial = new Phase(1);
  const drafts = { normal: normalTemplateBody(), adversarial: adversarialTemplateBody() };
  for (let i = 0; i < settings.templatePreviews; i++) {
    await timed(templateNormal, 200, 'POST', '/api/v1/email-templates/user_invitation/preview?locale=en', { body: JSON.stringify({ subject: 'Hi {{username}}', body: drafts.normal }) });
    await timed(templateAdversarial, 200, 'POST', '/api/v1/email-templates/user_invitation/preview?locale=en', { body: JSON.stringify({ subject: 'Hi {{username}}', body: drafts.adversarial }) });
  }
  const templateNormalResult = templateNormal.finish();
  const templateAdversarialResult = templateAdversarial.finish();

  // --- 6: malformed JSON (the cheap path: auth, body limit, parse error → 400 problem) ---
  log(`bad input: ${settings.badRequests} malformed bodies at concurrency ${settings.concurrency}`);
  const bad = new Phase(settings.concurrency);
  await pool(settings.badRequests, settings.concurrency, async (i) => {
    await timed(bad, 400, 'POST', '/api/v1/invitations', { body: `{"username": "x${i}", ` });
  });
  const badResult = bad.finish();

  // --- 6b: steady load, open-loop (P2): a fixed rate, then twice what the service sustained ---
  const steadyOptions = {
    baseUrl,
    adminKey: ADMIN_KEY,
    db: database.db,
    temporal,
    waitForMail: (to: string, timeoutMs: number) => catcher.waitFor((m) => m.to.includes(to), timeoutMs).catch(() => undefined),
    countMails: (to: string) => mailsTo.get(to) ?? 0,
    mailTimeoutMs: settings.mailTimeoutMs,
    tag,
  };
  let steady: OpenLoopResult | undefined;
  let overload: OpenLoopResult | undefined;
  if (settings.steadySeconds > 0) {
    log(`steady: ${settings.steadyRate} invitations/s for ${settings.steadySeconds} s, open-loop`);
    steady = await openLoop({ ...steadyOptions, label: 'steady', ratePerSecond: settings.steadyRate, seconds: settings.steadySeconds });
  }
  if (settings.overloadSeconds > 0) {
    const rate = Math.max(1, Math.round(2 * serviceEndToEnd.perSecond));
    log(`overload: ${rate} invitations/s (twice the ${serviceEndToEnd.perSecond}/s sustained above) for ${settings.overloadSeconds} s, open-loop`);
    overload = await openLoop({ ...steadyOptions, label: 'overload', ratePerSecond: rate, seconds: settings.overloadSeconds });
  }

  // --- 7: memory at the end, then after a forced GC ---
  sampleMemory('endOfRun');
  if (gc.gc) {
    gc.gc();
    gc.gc();
    sampleMemory('afterForcedGc');
  }
  const wholeLoadCpu = cpuSince(loadCpu);
  const peakRssMiB = Math.round((process.resourceUsage().maxRSS / 1024) * 10) / 10;

  // --- 8: the references, last, so their workflows weigh on nothing measured above ---
  const references = await measureReferences({
    temporal,
    temporalAddress,
    namespace: config.TEMPORAL_NAMESPACE,
    payloadCodec,
    db: database.db,
    mailer,
    config,
    count: settings.invites,
    concurrency: settings.concurrency,
    tag,
    log,
  });
  const orchestration = {
    serviceEndToEnd,
    ...references,
    ratioToCeilingLocal: Math.round((serviceEndToEnd.perSecond / references.ceilingLocal.perSecond) * 100) / 100,
    ratioToCeilingMixed: Math.round((serviceEndToEnd.perSecond / references.ceilingMixed.perSecond) * 100) / 100,
    ratioToCeilingRegular: Math.round((serviceEndToEnd.perSecond / references.ceilingRegular.perSecond) * 100) / 100,
    ratioToFloor: Math.round((serviceEndToEnd.perSecond / references.floor.perSecond) * 100) / 100,
  };

  // --- 9: webhook event lag (issue 19.3), last: the dispatcher runs from here on only ---
  let webhooks: WebhookLagResult | undefined;
  if (settings.webhookSeconds > 0) {
    await startWebhookDispatcher(temporal, config);
    const stopWaking = await wakeWebhookDispatcherOnCommit(database, temporal, { secretBox: loadSecretBox(config), config, log: { warn: (obj, msg) => log(`${msg} ${JSON.stringify(obj)}`) } });
    cleanups.push({ what: 'webhook wake-ups', run: stopWaking });
    // The events of the phases above had no endpoint: let the dispatcher clear them first.
    const outboxClear = performance.now() + 60_000;
    while (performance.now() < outboxClear) {
      const waiting = await database.db.selectFrom('webhook_events').select('id').where('dispatched_at', 'is', null).limit(1).execute();
      if (waiting.length === 0) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    const rate = settings.webhookRate || Math.max(1, Math.round(serviceEndToEnd.perSecond));
    log(`webhooks: ${rate} invitations/s (each one user.invited event) for ${settings.webhookSeconds} s, open-loop, to a receiver on 127.0.0.1`);
    webhooks = await measureWebhookLag({ baseUrl, adminKey: ADMIN_KEY, ratePerSecond: rate, seconds: settings.webhookSeconds, tag, drainTimeoutMs: 60_000, log });
  }

  if (workerError) throw workerError;

  const mailStats = latencyStats(inviteToMail);
  const results = {
    startedAt: startedAt.toISOString(),
    durationSeconds: Math.round((performance.now() - setupStarted) / 100) / 10,
    machine: { ...machine, postgres: postgresVersion, temporal: temporalVersion, nodeEnv: process.env.NODE_ENV ?? '(unset)', loadAverageAtEnd: loadavg().map((l) => Math.round(l * 100) / 100) },
    settings,
    setup: {
      temporalDevServerStartMs: devServer ? Math.round(devServerStartMs) : null,
      workflowBundleMs: Math.round(bundleMs),
      totalSetupMs: Math.round(setupMs),
    },
    /** CPU over all measured phases (from before the invites to the end): who used the two cores. */
    cpuDuringLoad: wholeLoadCpu,
    phases: {
      invite: inviteResult,
      inviteToMail: {
        mails: inviteToMail.length,
        missing: inviteResult.ok - inviteToMail.length,
        timeouts: mailTimeouts,
        latencyMs: mailStats,
        drainAfterLastInviteMs: Math.round(mailDrainMs),
      },
      accept: acceptResult,
      login: loginResult,
      usersPaged: { ...pagesResult, ...paging, pagingOk },
      usersSearch: searchResult,
      forgotKnown: forgotKnownResult,
      forgotUnknown: forgotUnknownResult,
      resend: resendResult,
      resendDelivery,
      templateNormal: templateNormalResult,
      templateAdversarial: templateAdversarialResult,
      badInput: badResult,
      steady,
      overload,
    },
    memory: { ...memory, bench: { peakRssMiB }, gc: gc.how },
    orchestration,
    webhooks,
  };

  report(results);
  mkdirSync(path.dirname(outFile), { recursive: true });
  writeFileSync(outFile, `${JSON.stringify(results, null, 2)}\n`);
  log(`wrote ${path.relative(process.cwd(), outFile)}`);

  const failures =
    inviteResult.errors + acceptResult.errors + loginResult.errors + pagesResult.errors + (pagingOk ? 0 : 1) + searchResult.errors + badResult.errors + (inviteResult.ok - inviteToMail.length) +
    resendResult.errors + resendDelivery.missing + templateNormalResult.errors + templateAdversarialResult.errors +
    [steady, overload].reduce((n, x) => n + (x ? x.createdIncomplete.length + x.refusedButMade.length + x.unanswered : 0), 0) +
    (webhooks?.undelivered ?? 0);
  return failures;
}

function report(r: {
  machine: Record<string, unknown>;
  settings: typeof settings;
  setup: Record<string, unknown>;
  cpuDuringLoad: ReturnType<typeof cpuSince>;
  phases: Record<string, any>;
  memory: Record<string, any>;
  orchestration: Record<string, any>;
  webhooks: WebhookLagResult | undefined;
  durationSeconds: number;
}) {
  const p = r.phases;
  const ms = (n: number | undefined) => (n === undefined ? '-' : n.toFixed(1));
  const row = (name: string, x: PhaseResult) => [
    name,
    x.requests,
    x.errors,
    x.concurrency,
    x.throughputPerSecond.toFixed(1),
    ms(x.latencyMs?.p50),
    ms(x.latencyMs?.p95),
    ms(x.latencyMs?.p99),
    ms(x.latencyMs?.max),
    `${x.cpu.benchProcessCpuSeconds}/${x.cpu.temporalCpuSeconds ?? '-'}/${x.cpu.postgresCpuSeconds}/${x.cpu.otherCpuSeconds}`,
  ];
  const m = p.inviteToMail;
  const out = [
    '',
    `Machine: ${String(r.machine.cpuModel)}, ${String(r.machine.cores)} cores, ${String(r.machine.ramGiB)} GiB RAM; Node ${String(r.machine.node)} (NODE_ENV ${String(r.machine.nodeEnv)}); Postgres ${String(r.machine.postgres)}; ${String(r.machine.temporal)}`,
    `Setup: ${JSON.stringify(r.setup)}; whole run ${r.durationSeconds} s; load average ${JSON.stringify(r.machine.loadAverageAtStart)} at start, ${JSON.stringify(r.machine.loadAverageAtEnd)} at end`,
    `CPU during the measured phases: ${JSON.stringify(r.cpuDuringLoad)}`,
    '',
    table(
      ['phase', 'requests', 'errors', 'conc', 'req/s', 'p50 ms', 'p95 ms', 'p99 ms', 'max ms', 'cpu s self/temporal/pg/other'],
      [
        row('invite POST /invitations', p.invite),
        [
          'invite → mail at catcher',
          m.mails,
          m.missing,
          '-',
          '-',
          ms(m.latencyMs?.p50),
          ms(m.latencyMs?.p95),
          ms(m.latencyMs?.p99),
          ms(m.latencyMs?.max),
          `drain ${m.drainAfterLastInviteMs} ms`,
        ],
        row('accept (argon2id hash)', p.accept),
        row('login (argon2id verify)', p.login),
        row(`users list limit=50 (${String(p.usersPaged.usersListed)}/${String(p.usersPaged.usersExpected)} users)`, p.usersPaged),
        row('users search q=', p.usersSearch),
        row('forgot password, known address', p.forgotKnown),
        row('forgot password, unknown address', p.forgotUnknown),
        row('resend POST /emails/{id}/resend', p.resend),
        ['resend → copy at catcher', p.resendDelivery.copies, p.resendDelivery.missing, '-', `${String(p.resendDelivery.mailsPerSecond)} mails/s`, '-', '-', '-', '-', `all in ${String(p.resendDelivery.seconds)} s`],
        row(`template preview, normal ${TEMPLATE_BODY_MAX} chars`, p.templateNormal),
        row(`template preview, {{ + spaces, ${TEMPLATE_BODY_MAX} chars`, p.templateAdversarial),
        row('malformed JSON → 400', p.badInput),
      ],
    ),
    '',
    table(
      ['memory (MiB)', 'rss', 'heapUsed', 'heapTotal', 'external', 'temporal dev server rss'],
      Object.entries(r.memory)
        .filter(([, v]) => typeof v === 'object' && v !== null && 'rssMiB' in v && 'heapUsedMiB' in v)
        .map(([label, v]) => [label, v.rssMiB, v.heapUsedMiB, v.heapTotalMiB, v.externalMiB, v.temporalDevServer?.rssMiB ?? '-']),
    ),
    `bench process peak RSS ${String(r.memory.bench.peakRssMiB)} MiB; forced GC: ${String(r.memory.gc)}`,
    '',
    table(
      ['invitations end to end (same run)', 'count', 'seconds', 'per second', 'service / this'],
      [
        ['service: API → workflow → SMTP', r.orchestration.serviceEndToEnd.count, r.orchestration.serviceEndToEnd.seconds, r.orchestration.serviceEndToEnd.perSecond, '1'],
        ['ceiling: no-op shape, local activities', r.orchestration.ceilingLocal.count, r.orchestration.ceilingLocal.seconds, r.orchestration.ceilingLocal.perSecond, r.orchestration.ratioToCeilingLocal],
        ['ceiling: no-op shape, local db + regular SMTP', r.orchestration.ceilingMixed.count, r.orchestration.ceilingMixed.seconds, r.orchestration.ceilingMixed.perSecond, r.orchestration.ratioToCeilingMixed],
        ['ceiling: no-op shape, regular activities', r.orchestration.ceilingRegular.count, r.orchestration.ceilingRegular.seconds, r.orchestration.ceilingRegular.perSecond, r.orchestration.ratioToCeilingRegular],
        ['floor: insert, render, SMTP, no Temporal', r.orchestration.floor.count, r.orchestration.floor.seconds, r.orchestration.floor.perSecond, r.orchestration.ratioToFloor],
      ],
    ),
    '',
  ];
  for (const [name, x] of [['steady', p.steady], ['overload', p.overload]] as Array<[string, OpenLoopResult | undefined]>) {
    if (!x) continue;
    out.push(
      `${name} (open-loop, ${x.ratePerSecond}/s for ${x.seconds} s, ${x.sent} sent, generator lag max ${x.maxSendLagMs} ms): answers ${JSON.stringify(x.statuses)}; ` +
        `latency p50 ${ms(x.latencyMs?.p50)} / p95 ${ms(x.latencyMs?.p95)} / p99 ${ms(x.latencyMs?.p99)} / max ${ms(x.latencyMs?.max)} ms; ` +
        `refusals p99 ${ms(x.refusalLatencyMs?.p99)} ms; 201s whole ${x.createdComplete}, incomplete ${x.createdIncomplete.length}, refused but made ${x.refusedButMade.length}, unanswered ${x.unanswered}`,
    );
    for (const line of [...x.createdIncomplete, ...x.refusedButMade]) out.push(`  ${name}: ${line}`);
  }
  if (r.webhooks) {
    const w = r.webhooks;
    out.push(
      '',
      table(
        ['webhook events (same run)', 'events', 'per second', 'lag/POST p50 ms', 'p95 ms', 'p99 ms', 'max ms', 'service / this'],
        [
          [`service: invite → outbox → dispatcher → lane → POST (${w.ratePerSecond}/s offered, ${w.seconds} s)`, `${w.delivered}/${w.invited}`, w.eventsPerSecond, ms(w.lagMs?.p50), ms(w.lagMs?.p95), ms(w.lagMs?.p99), ms(w.lagMs?.max), '1'],
          [`reference: sign + POST straight to the receiver (C=${w.reference.concurrency})`, w.reference.events, w.reference.eventsPerSecond, ms(w.reference.postMs?.p50), ms(w.reference.postMs?.p95), ms(w.reference.postMs?.p99), ms(w.reference.postMs?.max), w.ratioToReference],
        ],
      ),
      `webhook events undelivered ${w.undelivered}, delivered more than once ${w.duplicates}`,
    );
  }
  out.push('');
  if (!p.usersPaged.pagingOk) {
    out.push(
      `WARNING: paging through /api/v1/users returned ${String(p.usersPaged.usersListed)} rows (${String(p.usersPaged.distinctUsers)} distinct) for ${String(p.usersPaged.usersExpected)} users`,
      '',
    );
  }
  process.stdout.write(`${out.join('\n')}\n`);
  for (const [name, phase] of Object.entries(p)) {
    for (const sample of (phase as { errorSamples?: string[] } | undefined)?.errorSamples ?? []) process.stdout.write(`  ${name} error: ${sample}\n`);
  }
}


let cleaningUp: Promise<void> | undefined;
function cleanUp(): Promise<void> {
  cleaningUp ??= (async () => {
    for (const { what, run } of [...cleanups].reverse()) {
      try {
        await run();
      } catch (error) {
        log(`while stopping ${what}: ${(error as Error).message}`);
      }
    }
  })();
  return cleaningUp;
}

const watchdog = setTimeout(() => {
  log(`gave up after BENCH_MAX_SECONDS=${settings.maxSeconds}`);
  void cleanUp().finally(() => process.exit(2));
}, settings.maxSeconds * 1000);
process.once('SIGINT', () => void cleanUp().finally(() => process.exit(130)));
process.once('SIGTERM', () => void cleanUp().finally(() => process.exit(143)));

main()
  .then(async (failures) => {
    clearTimeout(watchdog);
    await cleanUp();
    if (failures > 0) log(`${failures} failed requests, missing mails or paging mismatches`);
    process.exit(failures > 0 ? 1 : 0);
  })
  .catch(async (error: unknown) => {
    clearTimeout(watchdog);
    log(`failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    await cleanUp();
    process.exit(1);
  });
