/**
 * `npm run bench:capacity [-- --only=memory,deadline,cost,scaleout]`: issue 8's capacity
 * goals, measured against the production entry points (src/api/server.ts and worker.ts as
 * their own processes), the machine's Postgres, a Temporal dev server and the mail catcher in
 * this process. Each phase sets up and tears down its own database, server and processes.
 * Prints a summary per phase and writes bench/results/capacity-<phase>.json.
 * See docs/benchmarks.md, "Capacity (issue 8: P3–P5, scale-out)", for the knobs and results.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { Client, Connection } from '@temporalio/client';
import { startMailCatcher, type CaughtMail, type MailCatcher } from '../src/dev/mail-catcher.js';
import { freePort } from '../src/dev/ports.js';
import { bundleInvitationWorkflows } from '../src/temporal/bundle.js';
import { countBillableActions, eventTypeNames, historyBytes, type ActionCount } from './actions.js';
import { commandVersion, envInt, latencyStats, machineInfo, pool, procCpuSeconds, type LatencyStats } from './lib.js';
import { findTemporalCli } from '../src/dev/temporal-cli.js';
import {
  cleanUpAll,
  createBenchDatabase,
  describeLoad,
  eventually,
  installExitHandlers,
  log,
  onCleanup,
  peakRssMiB,
  repoRoot,
  round,
  rssMiB,
  sleep,
  spawnService,
  workerProcessSettings,
  startBenchTemporal,
  tableSizes,
  waitForApi,
  waitForWorkers,
  watchLoad,
  type BenchDatabase,
  type BenchTemporal,
  type ServiceProcess,
} from './setup.js';

const PHASES = ['memory', 'deadline', 'cost', 'scaleout'] as const;
type PhaseName = (typeof PHASES)[number];

const onlyArg = process.argv.find((a) => a.startsWith('--only='))?.slice('--only='.length);
const selected: PhaseName[] = onlyArg ? (onlyArg.split(',').map((s) => s.trim()) as PhaseName[]) : [...PHASES];
for (const p of selected) if (!PHASES.includes(p)) throw new Error(`--only=${onlyArg}: unknown phase ${p} (one or more of ${PHASES.join(', ')})`);

const adminUrl = process.env.BENCH_PG_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const resultsDir = process.env.BENCH_OUT_DIR ?? path.join(repoRoot, 'bench', 'results');
const ADMIN_KEY = `capacity-admin-${randomBytes(12).toString('hex')}`;
const tag = process.pid.toString(36);
const TOKEN_LINK = /https?:\/\/\S+\/invitations\/accept\S*#token=([A-Za-z0-9_-]+)/;

// ---------------------------------------------------------------------------------------------
// One phase's environment: database, Temporal, mail catcher, shared secrets

interface Stage {
  db: BenchDatabase;
  temporal: BenchTemporal;
  catcher: MailCatcher;
  /** Every mail caught, by recipient (the catcher's own store keeps only the last 500). */
  mailsTo: Map<string, CaughtMail[]>;
  mailCount(): number;
  env: Record<string, string>;
  dataDir: string;
}

async function stage(phase: PhaseName, options: { fileBackedTemporal?: boolean } = {}): Promise<Stage> {
  const dataDir = mkdtempSync(path.join(tmpdir(), `capacity-${phase}-`));
  onCleanup(`remove ${dataDir}`, () => rmSync(dataDir, { recursive: true, force: true }));
  const db = await createBenchDatabase(adminUrl, `invitations_capacity_${phase}_${process.pid}`);
  const temporal = await startBenchTemporal({ dbFile: options.fileBackedTemporal ? path.join(dataDir, 'temporal.db') : undefined });
  const mailsTo = new Map<string, CaughtMail[]>();
  let mails = 0;
  const catcher = await startMailCatcher({
    smtpPort: 0,
    httpPort: null,
    onMail: (mail) => {
      mails++;
      for (const to of mail.to) mailsTo.set(to, [...(mailsTo.get(to) ?? []), mail]);
    },
  });
  onCleanup('mail catcher', () => catcher.close());
  const env: Record<string, string> = {
    NODE_ENV: process.env.NODE_ENV ?? 'production',
    HOST: '127.0.0.1',
    DATABASE_URL: db.url,
    TEMPORAL_ADDRESS: temporal.address,
    TEMPORAL_TASK_QUEUE: `capacity-${phase}-${randomBytes(4).toString('hex')}`,
    SMTP_URL: catcher.smtpUrl,
    ADMIN_API_KEY: ADMIN_KEY,
    EMAIL_ENCRYPTION_KEY: randomBytes(32).toString('hex'),
    // Sealed as in production: the codec's cost is in every number.
    TEMPORAL_PAYLOAD_KEYS: `capacity:${randomBytes(32).toString('base64')}`,
    LOG_LEVEL: 'warn',
    DATA_DIR: dataDir,
    // All traffic comes from 127.0.0.1; the limiter still runs, only its threshold is raised.
    RATE_LIMIT_PER_MINUTE: '1000000',
  };
  return { db, temporal, catcher, mailsTo, mailCount: () => mails, env, dataDir };
}

async function startApi(s: Stage, name: string, extraEnv: Record<string, string> = {}) {
  const port = await freePort();
  const baseUrl = `http://127.0.0.1:${port}`;
  const proc = spawnService(name, 'src/api/server.ts', { ...s.env, PORT: String(port), PUBLIC_BASE_URL: baseUrl, ...extraEnv });
  await waitForApi(baseUrl, proc);
  return { proc, baseUrl };
}

function startWorker(s: Stage, name: string, extraEnv: Record<string, string> = {}) {
  // Links in mails point at the first API; any API of the phase accepts them (one database).
  // As `npm run start:worker` starts it (heap flags, malloc arenas), plus BENCH_WORKER_NODE_ARGS
  // (e.g. --cpu-prof --cpu-prof-dir=/tmp/prof, or a different --max-old-space-size to compare).
  const settings = workerProcessSettings();
  const extraArgs = (process.env.BENCH_WORKER_NODE_ARGS ?? '').split(/\s+/).filter(Boolean);
  return spawnService(name, 'worker.ts', { PUBLIC_BASE_URL: 'http://127.0.0.1:9', ...settings.env, ...s.env, ...extraEnv }, [...settings.nodeArgs, ...extraArgs]);
}

// ---------------------------------------------------------------------------------------------
// HTTP

interface Invited {
  status: number;
  ms: number;
  userId?: string;
  expiresAt?: string;
  error?: string;
}

async function invite(baseUrl: string, username: string, email: string): Promise<Invited> {
  const started = performance.now();
  try {
    const res = await fetch(`${baseUrl}/api/v1/invitations`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ username, email, userType: 'member', locale: 'en' }),
    });
    const text = await res.text();
    const ms = performance.now() - started;
    if (res.status !== 201) return { status: res.status, ms, error: text.slice(0, 300) };
    const body = JSON.parse(text) as { user: { id: string }; invitation: { expiresAt: string } };
    return { status: 201, ms, userId: body.user.id, expiresAt: body.invitation.expiresAt };
  } catch (error) {
    return { status: 0, ms: performance.now() - started, error: (error as Error).message };
  }
}

async function accept(baseUrl: string, token: string, password: string) {
  const res = await fetch(`${baseUrl}/api/v1/public/invitations/accept`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ token, password }),
  });
  return { status: res.status, text: await res.text() };
}

const MiB = (bytes: number) => round(bytes / 1024 / 1024);

function save(phase: PhaseName, results: unknown) {
  mkdirSync(resultsDir, { recursive: true });
  const file = path.join(resultsDir, `capacity-${phase}.json`);
  writeFileSync(file, `${JSON.stringify(results, null, 2)}\n`);
  log(`wrote ${path.relative(process.cwd(), file)}`);
}

const machine = { ...machineInfo(), nodeEnv: process.env.NODE_ENV ?? '(unset)', temporalCli: process.env.TEMPORAL_ADDRESS ? `external ${process.env.TEMPORAL_ADDRESS}` : commandVersion(findTemporalCli({ install: false }), ['--version']) };

// ---------------------------------------------------------------------------------------------
// P3: memory and idle CPU with many pending invitations

async function workerHeapMiB(metricsPort: number): Promise<number | null> {
  try {
    const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
    const value = /^nodejs_heap_size_used_bytes (\d+(?:\.\d+)?(?:e\+\d+)?)$/m.exec(text)?.[1];
    return value ? MiB(Number(value)) : null;
  } catch {
    return null;
  }
}

/** Start a worker on an empty queue, wait until it polls and settles, read its memory, stop it. */
async function workerStartup(s: Stage, label: string, extraEnv: Record<string, string>) {
  const taskQueue = `capacity-startup-${label}-${randomBytes(3).toString('hex')}`;
  const proc = startWorker(s, `worker (${label})`, { TEMPORAL_TASK_QUEUE: taskQueue, ...extraEnv });
  const readyAt = await waitForWorkers(s.temporal.address, taskQueue, [proc]);
  const afterReady = rssMiB(proc.pid);
  await sleep(10_000);
  const result = {
    label,
    secondsToPolling: round((readyAt - proc.startedAt) / 1000),
    rssAtPollingMiB: afterReady,
    rssTenSecondsLaterMiB: rssMiB(proc.pid),
    peakRssMiB: peakRssMiB(proc.pid),
    cpuSecondsToStart: procCpuSeconds(proc.pid),
  };
  await proc.stop();
  return result;
}

async function memoryPhase() {
  const count = envInt('BENCH_MEMORY_INVITES', 10_000, 1);
  const concurrency = envInt('BENCH_MEMORY_CONCURRENCY', 8, 1);
  const idleSeconds = envInt('BENCH_IDLE_SECONDS', 60, 1);
  const sampleMs = envInt('BENCH_SAMPLE_MS', 3000, 200);
  // On a busy shared machine 10,000 invitations can take an hour: stop inviting after this.
  const inviteSeconds = envInt('BENCH_MEMORY_INVITE_SECONDS', 0, 0);
  const bundleMode = process.env.BENCH_WORKER_BUNDLE ?? 'prebuilt';
  if (!['webpack', 'prebuilt', 'both'].includes(bundleMode)) throw new Error('BENCH_WORKER_BUNDLE: webpack, prebuilt or both');
  const fileBacked = (process.env.BENCH_MEMORY_TEMPORAL ?? 'file') === 'file';
  log(`memory: ${count} invitations at concurrency ${concurrency}, worker bundle ${bundleMode}, Temporal ${fileBacked ? 'file-backed (SQLite file, as npm start)' : 'in memory'}`);
  const s = await stage('memory', { fileBackedTemporal: fileBacked });

  // The workflow bundle built ahead, as `npm run build:workflows` does.
  const bundleFile = path.join(s.dataDir, 'workflows.js');
  writeFileSync(bundleFile, (await bundleInvitationWorkflows(log)).code);
  const startup = [];
  if (process.env.BENCH_STARTUP_COMPARE !== '0') {
    log('memory: worker start-up, webpack at start vs a prebuilt bundle (one after the other, empty queues)');
    startup.push(await workerStartup(s, 'webpack at start', {}));
    startup.push(await workerStartup(s, 'prebuilt bundle', { WORKER_WORKFLOW_BUNDLE: bundleFile }));
  }

  const api = await startApi(s, 'api');
  // "both": two workers side by side on the one queue, one bundling at start as worker.ts
  // does by default, one loading the prebuilt bundle. Each gets about half the invitations,
  // far more than its 150-workflow cache holds, so each shows where its memory settles.
  const variants = bundleMode === 'both' ? (['webpack', 'prebuilt'] as const) : ([bundleMode] as Array<'webpack' | 'prebuilt'>);
  const workers: Array<{ variant: 'webpack' | 'prebuilt'; proc: ServiceProcess; metricsPort: number }> = [];
  for (const variant of variants) {
    const metricsPort = await freePort();
    const proc = startWorker(s, `worker (${variant})`, {
      WORKER_METRICS_PORT: String(metricsPort),
      PUBLIC_BASE_URL: api.baseUrl,
      ...(variant === 'prebuilt' ? { WORKER_WORKFLOW_BUNDLE: bundleFile } : {}),
    });
    workers.push({ variant, proc, metricsPort });
  }
  await waitForWorkers(s.temporal.address, s.env.TEMPORAL_TASK_QUEUE!, workers.map((w) => w.proc));
  await sleep(5000);
  const ours = () => [...workers.map((w) => w.proc.pid), api.proc.pid, ...(s.temporal.pid ? [s.temporal.pid] : [])];

  let invited = 0;
  const sqliteMiB = () => {
    if (!s.temporal.dbFile) return null;
    let bytes = 0;
    for (const suffix of ['', '-wal', '-shm']) {
      try {
        bytes += statSync(s.temporal.dbFile + suffix).size;
      } catch {
        // not there (yet)
      }
    }
    return MiB(bytes);
  };
  const t0 = performance.now();
  const sample = async (label: string) => ({
    label,
    atSeconds: round((performance.now() - t0) / 1000),
    invited,
    mails: s.mailCount(),
    workers: await Promise.all(
      workers.map(async (w) => ({ variant: w.variant, rssMiB: rssMiB(w.proc.pid), heapUsedMiB: await workerHeapMiB(w.metricsPort), cpuSeconds: procCpuSeconds(w.proc.pid) })),
    ),
    apiRssMiB: rssMiB(api.proc.pid),
    devServerRssMiB: rssMiB(s.temporal.pid),
    temporalSqliteMiB: sqliteMiB(),
    postgresDbMiB: MiB(await s.db.sizeBytes()),
    loadAverage1m: round(loadavg()[0]!, 2),
  });
  type Sample = Awaited<ReturnType<typeof sample>>;
  const series: Sample[] = [];
  const marks: Sample[] = [];
  marks.push(await sample('start (workers polling, idle)'));
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      series.push(await sample('series'));
      await sleep(sampleMs);
    }
  })();

  const milestones = [1000, 2000, 5000, 10_000, count].filter((m, i, all) => m <= count && all.indexOf(m) === i).sort((a, b) => a - b);
  const latencies: number[] = [];
  const errors: string[] = [];
  let failed = 0;
  const load = watchLoad(ours);
  const markWaits: Array<Promise<void>> = [];
  const stopInvitingAt = inviteSeconds ? Date.now() + inviteSeconds * 1000 : Infinity;
  let stoppedEarly = false;
  await pool(count, concurrency, async (i) => {
    if (Date.now() > stopInvitingAt) {
      stoppedEarly = true;
      return;
    }
    const res = await invite(api.baseUrl, `m${tag}-${i}`, `mem-${tag}-${i}@example.com`);
    if (res.status !== 201) {
      failed++;
      if (errors.length < 5) errors.push(`${res.status} ${res.error ?? ''}`);
      return;
    }
    latencies.push(res.ms);
    invited++;
    if (invited % 500 === 0) log(`memory: ${invited} invited`);
    if (milestones.includes(invited)) markWaits.push(sample(`after ${invited} invited`).then((m) => void marks.push(m)));
  });
  await Promise.all(markWaits);
  const inviteLoad = load();
  if (stoppedEarly) log(`memory: stopped inviting after BENCH_MEMORY_INVITE_SECONDS=${inviteSeconds} at ${invited}`);
  log(`memory: invites done (${invited}/${count}); waiting for their mails`);
  await eventually(() => s.mailCount() >= invited, envInt('BENCH_MAIL_TIMEOUT_MS', 300_000, 1000), `${invited} mails (have ${s.mailCount()})`, 1000).catch((e: Error) => log(e.message));
  // A 503 "started but not yet confirmed" under load still creates the invitation: count them all.
  const [{ users } = { users: '0' }] = await s.db.sql<{ users: string }[]>`select count(*)::text as users from users`;
  invited = Number(users);
  await eventually(() => s.mailCount() >= invited, 60_000, `${invited} mails (have ${s.mailCount()})`, 1000).catch((e: Error) => log(e.message));
  marks.push(await sample(`every mail delivered (${invited})`));

  // Idle: nothing happens for a while (every workflow waits on its reminder timer, 25 days).
  log(`memory: ${idleSeconds} s idle`);
  const idleLoad = watchLoad(ours);
  const cpuOf = (pid: number | undefined) => (pid === undefined ? NaN : (procCpuSeconds(pid) ?? NaN));
  const cpu0 = { workers: workers.map((w) => cpuOf(w.proc.pid)), api: cpuOf(api.proc.pid), dev: cpuOf(s.temporal.pid) };
  await sleep(idleSeconds * 1000);
  const cpu1 = { workers: workers.map((w) => cpuOf(w.proc.pid)), api: cpuOf(api.proc.pid), dev: cpuOf(s.temporal.pid) };
  const percent = (a: number, b: number) => round(((b - a) / idleSeconds) * 100, 2);
  const idle = {
    seconds: idleSeconds,
    workers: workers.map((w, k) => ({ variant: w.variant, cpuSeconds: round(cpu1.workers[k]! - cpu0.workers[k]!, 2), cpuPercent: percent(cpu0.workers[k]!, cpu1.workers[k]!) })),
    apiCpuPercent: percent(cpu0.api, cpu1.api),
    devServerCpuPercent: percent(cpu0.dev, cpu1.dev),
    load: idleLoad(),
  };
  marks.push(await sample(`after ${idleSeconds} s idle`));
  sampling = false;
  await sampler;

  // Per invitation: rows and bytes in Postgres, and one real pending history.
  const tables = await tableSizes(s.db);
  const raw = new Client({ connection: await Connection.connect({ address: s.temporal.address }) });
  onCleanup('raw temporal client (memory)', () => raw.connection.close());
  const [one] = await s.db.sql<{ workflow_id: string }[]>`select workflow_id from invitations order by created_at limit 1`;
  const pendingHistory = one ? await raw.workflow.getHandle(one.workflow_id).fetchHistory() : undefined;
  const pending = pendingHistory && { events: pendingHistory.events?.length ?? 0, bytes: historyBytes(pendingHistory), types: eventTypeNames(pendingHistory) };

  // Growth once the caches are full: from the first mark past 1,000 invitations to the one
  // after every mail (the invitations the API answered 503 for were created too: count users).
  const afterMarks = marks.filter((m) => (m.label.startsWith('after') && m.label.endsWith('invited')) || m.label.startsWith('every mail'));
  const from = afterMarks.find((m) => m.invited >= 1000) ?? afterMarks[0];
  const to = afterMarks[afterMarks.length - 1];
  const growth = workers.map((w, k) => ({
    variant: w.variant,
    fromInvited: from?.invited,
    toInvited: to?.invited,
    rssMiBPer1k: from && to && to.invited > from.invited ? round(((to.workers[k]!.rssMiB ?? 0) - (from.workers[k]!.rssMiB ?? 0)) / ((to.invited - from.invited) / 1000), 2) : null,
    peakRssMiB: peakRssMiB(w.proc.pid),
  }));
  const tableBytes = tables.reduce((a, t) => a + t.bytes, 0);
  const results = {
    phase: 'memory',
    startedAt: new Date(Date.now() - (performance.now() - t0)).toISOString(),
    machine,
    settings: {
      count,
      concurrency,
      bundleMode,
      stoppedEarlyAt: stoppedEarly ? invited : null,
      temporal: fileBacked ? 'dev server, SQLite file' : 'dev server, in memory',
      WORKER_MAX_CACHED_WORKFLOWS: process.env.WORKER_MAX_CACHED_WORKFLOWS ?? '150 (default)',
    },
    startup,
    invites: { answered201: latencies.length, errors: failed, usersCreated: invited, errorSamples: errors, perSecond: round(latencies.length / inviteLoad.wallSeconds), latencyMs: latencyStats(latencies), load: inviteLoad },
    marks,
    growth,
    idle,
    postgres: { tables, totalMiB: MiB(await s.db.sizeBytes()), tableBytesPerInvitation: invited ? Math.round(tableBytes / invited) : null },
    temporalSqliteBytesPerInvitation: invited && s.temporal.dbFile ? Math.round(((marks[marks.length - 1]!.temporalSqliteMiB ?? 0) - (marks[0]!.temporalSqliteMiB ?? 0)) * 1024 * 1024 / invited) : null,
    pendingHistory: pending,
    series,
  };
  save('memory', results);

  const w = (m: Sample) => m.workers.map((x) => `${x.rssMiB}/${x.heapUsedMiB}`).join('  ');
  const lines = [
    '',
    `P3 memory: ${invited} pending invitations (${results.settings.temporal}; workers: ${variants.join(' + ')}; cache ${results.settings.WORKER_MAX_CACHED_WORKFLOWS})`,
    ...startup.map((st) => `  worker start-up, ${st.label}: polling after ${st.secondsToPolling} s, RSS ${st.rssAtPollingMiB} → ${st.rssTenSecondsLaterMiB} MiB 10 s later, peak ${st.peakRssMiB} MiB, ${st.cpuSecondsToStart} CPU s`),
    `  invites: ${results.invites.answered201} answered 201, ${failed} not (${errors[0]?.slice(0, 120) ?? ''}); ${results.invites.perSecond}/s, p50 ${results.invites.latencyMs?.p50} ms, p99 ${results.invites.latencyMs?.p99} ms; ${describeLoad(inviteLoad)}`,
    `  label                                   invited  mails  worker RSS/heap MiB (${variants.join(', ')})  API RSS  dev server RSS  Temporal SQLite  Postgres DB  load`,
    ...marks.map(
      (m) =>
        `  ${m.label.padEnd(40)} ${String(m.invited).padStart(7)} ${String(m.mails).padStart(6)}  ${w(m).padEnd(36)} ${String(m.apiRssMiB).padStart(8)} ${String(m.devServerRssMiB).padStart(15)} ${String(m.temporalSqliteMiB).padStart(16)} ${String(m.postgresDbMiB).padStart(12)} ${String(m.loadAverage1m).padStart(5)}`,
    ),
    ...growth.map((g) => `  worker (${g.variant}) RSS growth from ${g.fromInvited} to ${g.toInvited} invited: ${g.rssMiBPer1k} MiB per 1,000; peak ${g.peakRssMiB} MiB`),
    `  idle ${idleSeconds} s: ${idle.workers.map((x) => `worker (${x.variant}) ${x.cpuPercent}% CPU (${x.cpuSeconds} s)`).join(', ')}, API ${idle.apiCpuPercent}%, dev server ${idle.devServerCpuPercent}%; ${describeLoad(idle.load)}`,
    `  Postgres: ${results.postgres.totalMiB} MiB, ${results.postgres.tableBytesPerInvitation} bytes of tables+indexes per invitation; ${tables.map((t) => `${t.table} ${t.rows} rows ${MiB(t.bytes)} MiB`).join(', ')}`,
    `  Temporal SQLite: ${results.temporalSqliteBytesPerInvitation} bytes per invitation; one pending history: ${pending?.events} events, ${pending?.bytes} bytes`,
    '',
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
  return results;
}

// ---------------------------------------------------------------------------------------------
// P4: many invitations reaching their deadline together

interface LagRow {
  status: string;
  invitation_status: string;
  expires_at: Date;
  deactivated_at: Date | null;
  expired_at: Date | null;
}

function lagReport(rows: LagRow[], reference: (r: LagRow) => number) {
  const inactive = rows.filter((r) => r.status === 'inactive' && r.deactivated_at);
  const lags = inactive.map((r) => r.deactivated_at!.getTime() - reference(r));
  const stats = latencyStats(lags);
  return {
    users: rows.length,
    inactive: inactive.length,
    invitationsExpired: rows.filter((r) => r.invitation_status === 'expired').length,
    notInactive: rows.length - inactive.length,
    lagMs: stats,
    withinTenSeconds: lags.filter((l) => l <= 10_000).length,
  };
}

async function createBatch(s: Stage, baseUrl: string, prefix: string, count: number, concurrency: number) {
  const latencies: number[] = [];
  const errors: string[] = [];
  const t0 = performance.now();
  await pool(count, concurrency, async (i) => {
    const res = await invite(baseUrl, `${prefix}${tag}-${i}`, `${prefix}-${tag}-${i}@example.com`);
    if (res.status === 201) latencies.push(res.ms);
    else if (errors.length < 5) errors.push(`${res.status} ${res.error ?? ''}`);
  });
  const seconds = (performance.now() - t0) / 1000;
  const [spread] = await s.db.sql<{ first: Date; last: Date; n: string }[]>`
    select min(i.expires_at) as first, max(i.expires_at) as last, count(*)::text as n
    from invitations i join users u on u.id = i.user_id where u.username like ${`${prefix}${tag}-%`}`;
  return { ok: latencies.length, errors: errors.length ? errors : undefined, seconds: round(seconds), perSecond: round(latencies.length / seconds), latencyMs: latencyStats(latencies), firstExpiresAt: spread!.first, lastExpiresAt: spread!.last };
}

async function lagRows(s: Stage, prefix: string): Promise<LagRow[]> {
  return s.db.sql<LagRow[]>`
    select u.status, i.status as invitation_status, i.expires_at, u.deactivated_at, i.expired_at
    from users u join invitations i on i.user_id = u.id where u.username like ${`${prefix}${tag}-%`}`;
}

/** Until every user of the batch is inactive: all rows, also those whose invite answered 503 (created anyway). */
async function waitAllInactive(s: Stage, prefix: string, until: number) {
  await eventually(
    async () => {
      const [row] = await s.db.sql<{ all: string; inactive: string }[]>`
        select count(*)::text as all, (count(*) filter (where status = 'inactive'))::text as inactive from users where username like ${`${prefix}${tag}-%`}`;
      return Number(row!.inactive) === Number(row!.all);
    },
    Math.max(1000, until - Date.now()),
    `every user of batch ${prefix} inactive`,
    1000,
  ).catch((e: Error) => log(e.message));
}

async function deadlinePhase() {
  const count = envInt('BENCH_DEADLINE_INVITES', 1000, 1);
  const concurrency = envInt('BENCH_DEADLINE_CONCURRENCY', 16, 1);
  const ttl = process.env.BENCH_DEADLINE_TTL ?? '120s';
  const burst = process.env.BENCH_DEADLINE_BURST !== '0';
  log(`deadline: ${count} invitations, INVITATION_TTL=${ttl}, no reminder, concurrency ${concurrency}${burst ? ', then a burst batch' : ''}`);
  const s = await stage('deadline');
  const api = await startApi(s, 'api', { INVITATION_TTL: ttl, INVITATION_REMINDER: 'off' });
  let worker = startWorker(s, 'worker', { PUBLIC_BASE_URL: api.baseUrl });
  await waitForWorkers(s.temporal.address, s.env.TEMPORAL_TASK_QUEUE!, [worker]);
  const ours = () => [worker.pid, api.proc.pid, ...(s.temporal.pid ? [s.temporal.pid] : [])];

  // A: as they come. Each invitation's deadline is its own (workflow time at its first task
  // + TTL), spread over the creation; lag is measured against each one's expires_at.
  // BENCH_DEADLINE_NATURAL=0 skips A (to profile B alone).
  let natural;
  if (process.env.BENCH_DEADLINE_NATURAL !== '0') {
    const loadA = watchLoad(ours);
    const createdA = await createBatch(s, api.baseUrl, 'dla', count, concurrency);
    log(`deadline A: created ${createdA.ok} in ${createdA.seconds} s; deadlines ${createdA.firstExpiresAt.toISOString()} … ${createdA.lastExpiresAt.toISOString()}`);
    const createdBeforeFirstDeadline = Date.now() < createdA.firstExpiresAt.getTime();
    await waitAllInactive(s, 'dla', createdA.lastExpiresAt.getTime() + 120_000);
    natural = { created: createdA, createdBeforeFirstDeadline, ...lagReport(await lagRows(s, 'dla'), (r) => r.expires_at.getTime()), load: loadA() };
  }

  // B: the same deadline for all. With the worker stopped across the deadlines, every timer
  // has fired by the time a worker polls again: all expiries are due at once, and a fresh
  // worker (empty cache) replays each history before expiring it.
  let burstResult;
  if (burst) {
    const createdB = await createBatch(s, api.baseUrl, 'dlb', count, concurrency);
    await eventually(() => [...s.mailsTo.keys()].filter((k) => k.startsWith(`dlb-${tag}-`)).length >= createdB.ok, 120_000, 'batch B mails', 1000).catch((e: Error) => log(e.message));
    await worker.stop();
    const waitMs = createdB.lastExpiresAt.getTime() + 2000 - Date.now();
    log(`deadline B: ${createdB.ok} created in ${createdB.seconds} s; worker stopped, waiting ${round(waitMs / 1000)} s past the last deadline`);
    if (waitMs > 0) await sleep(waitMs);
    worker = startWorker(s, 'worker (restarted)', { PUBLIC_BASE_URL: api.baseUrl });
    await waitForWorkers(s.temporal.address, s.env.TEMPORAL_TASK_QUEUE!, [worker]);
    const readyAt = Date.now();
    const loadB = watchLoad(ours);
    const cpu0 = procCpuSeconds(worker.pid) ?? NaN;
    await waitAllInactive(s, 'dlb', readyAt + 300_000);
    const rows = await lagRows(s, 'dlb');
    const cpu1 = procCpuSeconds(worker.pid) ?? NaN;
    const drain = lagReport(rows, () => readyAt);
    burstResult = {
      created: createdB,
      workerPollingAt: new Date(readyAt).toISOString(),
      ...drain,
      /** Seconds from the restarted worker's first poll until the last user was inactive. */
      drainSeconds: drain.lagMs ? round(drain.lagMs.max / 1000, 2) : null,
      expiriesPerSecond: drain.lagMs && drain.lagMs.max > 0 ? round(drain.inactive / (drain.lagMs.max / 1000)) : null,
      workerCpuMsPerExpiry: drain.inactive ? round(((cpu1 - cpu0) * 1000) / drain.inactive, 2) : null,
      load: loadB(),
    };
  }
  const results = { phase: 'deadline', machine, settings: { count, concurrency, ttl, reminder: 'off', WORKER_MAX_CACHED_WORKFLOWS: process.env.WORKER_MAX_CACHED_WORKFLOWS ?? '150 (default)' }, natural, burst: burstResult };
  save('deadline', results);
  const fmt = (l: LatencyStats | null) => (l ? `p50 ${round(l.p50 / 1000, 2)} s, p99 ${round(l.p99 / 1000, 2)} s, max ${round(l.max / 1000, 2)} s` : '-');
  const lines = [
    '',
    `P4 deadline: ${count} invitations, INVITATION_TTL=${ttl}, reminder off`,
    ...(natural
      ? [
          `  A, as created (${natural.created.ok} in ${natural.created.seconds} s, ${natural.created.perSecond}/s; all before the first deadline: ${natural.createdBeforeFirstDeadline}): ${natural.inactive}/${natural.users} inactive, ${natural.invitationsExpired} invitations expired; lag deactivated_at − expires_at: ${fmt(natural.lagMs)}; within 10 s: ${natural.withinTenSeconds}`,
          `    ${describeLoad(natural.load)}`,
        ]
      : []),
    ...(burstResult
      ? [
          `  B, all due at once (worker stopped across the deadlines, then restarted): ${burstResult.inactive}/${burstResult.users} inactive, ${burstResult.invitationsExpired} expired; from the new worker's first poll: ${fmt(burstResult.lagMs)}; ${burstResult.expiriesPerSecond} expiries/s; worker ${burstResult.workerCpuMsPerExpiry} ms CPU per expiry (replay included)`,
          `    ${describeLoad(burstResult.load)}`,
        ]
      : []),
    '',
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
  return results;
}

// ---------------------------------------------------------------------------------------------
// P5: billable Temporal Cloud actions per invitation, from real histories

async function costPhase() {
  const samples = envInt('BENCH_COST_SAMPLES', 2, 1);
  const shortTtl = process.env.BENCH_COST_TTL ?? '20s';
  const reminder = process.env.BENCH_COST_REMINDER ?? '10s';
  log(`cost: ${samples} invitation(s) per path; short TTL ${shortTtl}, reminder ${reminder} before`);
  const s = await stage('cost');
  const worker = startWorker(s, 'worker');
  const apis = {
    defaults: await startApi(s, 'api (defaults: 28 days, reminder 3 days)'),
    noReminder: await startApi(s, `api (TTL ${shortTtl}, no reminder)`, { INVITATION_TTL: shortTtl, INVITATION_REMINDER: 'off' }),
    withReminder: await startApi(s, `api (TTL ${shortTtl}, reminder ${reminder})`, { INVITATION_TTL: shortTtl, INVITATION_REMINDER: reminder }),
  };
  await waitForWorkers(s.temporal.address, s.env.TEMPORAL_TASK_QUEUE!, [worker]);
  const raw = new Client({ connection: await Connection.connect({ address: s.temporal.address }) });
  onCleanup('raw temporal client (cost)', () => raw.connection.close());
  const load = watchLoad(() => [worker.pid, ...Object.values(apis).map((a) => a.proc.pid), ...(s.temporal.pid ? [s.temporal.pid] : [])]);

  const workflowIdOf = async (userId: string) => (await s.db.sql<{ workflow_id: string }[]>`select workflow_id from invitations where user_id = ${userId}`)[0]!.workflow_id;
  const closed = async (workflowId: string, timeoutMs: number) => {
    await eventually(async () => (await raw.workflow.getHandle(workflowId).describe()).status.name !== 'RUNNING', timeoutMs, `${workflowId} to close`, 500);
    return raw.workflow.getHandle(workflowId).fetchHistory();
  };

  type PathResult = { path: string; samples: Array<{ events: number; bytes: number; actions: ActionCount }>; pendingSnapshot?: { events: number; bytes: number; actions: number } };
  const paths: PathResult[] = [];
  const runPath = async (index: number, name: string, api: { baseUrl: string }, doAccept: boolean, timeoutMs: number) => {
    const result: PathResult = { path: name, samples: [] };
    for (let k = 0; k < samples; k++) {
      const user = `c${index}${tag}-${k}`;
      const email = `cost-${index}-${tag}-${k}@example.com`;
      const mail = s.catcher.waitFor((m) => m.to.includes(email), 60_000);
      const res = await invite(api.baseUrl, user, email);
      if (res.status !== 201) throw new Error(`invite for ${name}: ${res.status} ${res.error}`);
      const workflowId = await workflowIdOf(res.userId!);
      const caught = await mail;
      if (doAccept) {
        // What a pending invitation's history looks like while it waits.
        await sleep(500);
        const waiting = await raw.workflow.getHandle(workflowId).fetchHistory();
        result.pendingSnapshot ??= { events: waiting.events?.length ?? 0, bytes: historyBytes(waiting), actions: countBillableActions(waiting).total };
        const token = TOKEN_LINK.exec(caught.text)?.[1];
        if (!token) throw new Error(`no accept link in the mail to ${email}`);
        const accepted = await accept(api.baseUrl, token, `capacity passphrase ${k} long enough`);
        if (accepted.status !== 200) throw new Error(`accept: ${accepted.status} ${accepted.text}`);
      }
      const history = await closed(workflowId, timeoutMs);
      result.samples.push({ events: history.events?.length ?? 0, bytes: historyBytes(history), actions: countBillableActions(history) });
    }
    paths[index] = result;
    log(`cost: ${name}: ${result.samples.map((x) => `${x.actions.total} actions / ${x.events} events`).join(', ')}`);
  };
  await Promise.all([
    runPath(0, 'accepted (TTL 28 days, reminder 3 days before)', apis.defaults, true, 60_000),
    runPath(1, 'accepted (no reminder)', apis.noReminder, true, 60_000),
    runPath(2, `expired (TTL ${shortTtl}, no reminder)`, apis.noReminder, false, 180_000),
    runPath(3, `expired (TTL ${shortTtl}, reminder ${reminder} before)`, apis.withReminder, false, 180_000),
  ]);
  const results = { phase: 'cost', machine, settings: { samples, shortTtl, reminder }, paths, load: load() };
  save('cost', results);
  const lines = ['', 'P5 billable Temporal Cloud actions per invitation (https://docs.temporal.io/cloud/actions)'];
  for (const p of paths) {
    const first = p.samples[0]!;
    const same = p.samples.every((x) => x.actions.total === first.actions.total && x.events === first.events);
    lines.push(`  ${p.path}: ${first.actions.total} actions, ${first.events} events, ${first.bytes} bytes${same ? '' : ` (samples differ: ${p.samples.map((x) => `${x.actions.total}/${x.events}`).join(', ')})`}`);
    lines.push(`    ${first.actions.items.map((i) => `#${i.eventId} ${i.kind}${i.detail ? ` ${i.detail}` : ''}${i.actions > 1 ? ` ×${i.actions}` : ''}`).join('; ')}`);
    if (p.pendingSnapshot) lines.push(`    while pending (mail sent, waiting): ${p.pendingSnapshot.events} events, ${p.pendingSnapshot.bytes} bytes, ${p.pendingSnapshot.actions} actions so far`);
  }
  lines.push(`  ${describeLoad(results.load)}`, '');
  process.stdout.write(`${lines.join('\n')}\n`);
  return results;
}

// ---------------------------------------------------------------------------------------------
// Scale-out: two workers and two APIs against one Temporal and one Postgres

async function scaleoutRun(s: Stage, label: string, apiCount: number, workerCount: number, count: number, concurrency: number, prefix: string) {
  const taskQueue = `capacity-scaleout-${prefix}-${randomBytes(3).toString('hex')}`;
  const apis: Array<Awaited<ReturnType<typeof startApi>>> = [];
  for (let a = 0; a < apiCount; a++) apis.push(await startApi(s, `api ${a + 1} (${label})`, { TEMPORAL_TASK_QUEUE: taskQueue }));
  const workers = Array.from({ length: workerCount }, (_, w) => startWorker(s, `worker ${w + 1} (${label})`, { TEMPORAL_TASK_QUEUE: taskQueue, PUBLIC_BASE_URL: apis[0]!.baseUrl }));
  await waitForWorkers(s.temporal.address, taskQueue, workers);
  await sleep(3000);
  const procs = [...apis.map((a) => a.proc), ...workers];
  const cpu0 = procs.map((p) => procCpuSeconds(p.pid) ?? 0);
  const load = watchLoad(() => [...procs.map((p) => p.pid), ...(s.temporal.pid ? [s.temporal.pid] : [])]);

  const inviteMs: number[] = [];
  const toMailMs: number[] = [];
  const statuses = new Map<number, number>();
  const errors: string[] = [];
  const mailWaits: Array<Promise<void>> = [];
  const t0 = performance.now();
  let lastMailAt = t0;
  await pool(count, concurrency, async (i) => {
    const email = `${prefix}-${tag}-${i}@example.com`;
    const seen = s.catcher.waitFor((m) => m.to.includes(email), 180_000).then(
      () => performance.now(),
      () => undefined,
    );
    const res = await invite(apis[i % apis.length]!.baseUrl, `${prefix}${tag}-${i}`, email);
    statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
    if (res.status !== 201) {
      if (errors.length < 5) errors.push(`${res.status} ${res.error ?? ''}`);
      return;
    }
    inviteMs.push(res.ms);
    const answeredAt = performance.now();
    mailWaits.push(
      seen.then((at) => {
        if (at === undefined) return;
        toMailMs.push(Math.max(0, at - answeredAt));
        lastMailAt = Math.max(lastMailAt, at);
      }),
    );
  });
  const httpSeconds = (performance.now() - t0) / 1000;
  await Promise.all(mailWaits);
  const endToEndSeconds = (lastMailAt - t0) / 1000;
  const loadResult = load();
  const cpu = procs.map((p, k) => ({ process: p.name, cpuSeconds: round((procCpuSeconds(p.pid) ?? 0) - cpu0[k]!, 2) }));
  // Give a duplicate delivery (a retried activity) time to show up before counting.
  await sleep(3000);

  // Nothing lost, nothing twice: the database and the catcher, per invited address.
  const [db] = await s.db.sql<{ users: string; without: string; several: string }[]>`
    select count(*)::text as users,
           count(*) filter (where (select count(*) from invitations i where i.user_id = u.id) = 0)::text as without,
           count(*) filter (where (select count(*) from invitations i where i.user_id = u.id) > 1)::text as several
    from users u where u.username like ${`${prefix}${tag}-%`}`;
  let addressesWithoutMail = 0;
  let addressesWithSeveral = 0;
  for (let i = 0; i < count; i++) {
    const n = s.mailsTo.get(`${prefix}-${tag}-${i}@example.com`)?.length ?? 0;
    if (n === 0) addressesWithoutMail++;
    if (n > 1) addressesWithSeveral++;
  }
  for (const p of procs) await p.stop();
  return {
    label,
    apis: apiCount,
    workers: workerCount,
    count,
    concurrency,
    statuses: Object.fromEntries(statuses),
    errorSamples: errors,
    invitesPerSecond: round(inviteMs.length / httpSeconds),
    endToEndPerSecond: round(toMailMs.length / endToEndSeconds),
    endToEndSeconds: round(endToEndSeconds, 2),
    inviteLatencyMs: latencyStats(inviteMs),
    inviteToMailMs: latencyStats(toMailMs),
    check: {
      usersInDatabase: Number(db!.users),
      usersWithoutInvitation: Number(db!.without),
      usersWithSeveralInvitations: Number(db!.several),
      addressesWithoutMail,
      addressesWithSeveralMails: addressesWithSeveral,
      ok: Number(db!.users) === count && Number(db!.without) === 0 && Number(db!.several) === 0 && addressesWithoutMail === 0 && addressesWithSeveral === 0,
    },
    cpu,
    load: loadResult,
  };
}

async function scaleoutPhase() {
  const count = envInt('BENCH_SCALEOUT_INVITES', 1000, 1);
  const concurrency = envInt('BENCH_SCALEOUT_CONCURRENCY', 16, 1);
  log(`scale-out: ${count} invitations at concurrency ${concurrency}, 1 API + 1 worker, then 2 APIs + 2 workers`);
  const s = await stage('scaleout');
  const runs: Array<Awaited<ReturnType<typeof scaleoutRun>>> = [];
  runs.push(await scaleoutRun(s, '1 API + 1 worker', 1, 1, count, concurrency, 'so1'));
  runs.push(await scaleoutRun(s, '2 APIs + 2 workers', 2, 2, count, concurrency, 'so2'));
  const [one, two] = runs as [(typeof runs)[0], (typeof runs)[0]];
  const results = { phase: 'scaleout', machine, settings: { count, concurrency }, runs, ratio: { invitesPerSecond: round(two.invitesPerSecond / one.invitesPerSecond, 2), endToEndPerSecond: round(two.endToEndPerSecond / one.endToEndPerSecond, 2) } };
  save('scaleout', results);
  const fmt = (l: LatencyStats | null) => (l ? `p50 ${Math.round(l.p50)} / p99 ${Math.round(l.p99)} ms` : '-');
  const lines = ['', `Scale-out: ${count} invitations at concurrency ${concurrency}, one dev server, one Postgres`];
  for (const r of runs) {
    lines.push(
      `  ${r.label}: statuses ${JSON.stringify(r.statuses)}; ${r.invitesPerSecond} invites/s, ${r.endToEndPerSecond}/s to the last mail; invite ${fmt(r.inviteLatencyMs)}; invite → mail ${fmt(r.inviteToMailMs)}; check ${r.check.ok ? 'ok' : 'FAILED'} ${JSON.stringify(r.check)}`,
      `    CPU s: ${r.cpu.map((c) => `${c.process} ${c.cpuSeconds}`).join(', ')}`,
      `    ${describeLoad(r.load)}`,
    );
  }
  lines.push(`  two/one: invites ${results.ratio.invitesPerSecond}×, end to end ${results.ratio.endToEndPerSecond}×`, '');
  process.stdout.write(`${lines.join('\n')}\n`);
  return results;
}

// ---------------------------------------------------------------------------------------------

async function main() {
  installExitHandlers(envInt('BENCH_MAX_SECONDS', 3600, 10));
  log(`phases: ${selected.join(', ')}; machine ${JSON.stringify(machine)}`);
  let failed = false;
  for (const phase of selected) {
    const run = { memory: memoryPhase, deadline: deadlinePhase, cost: costPhase, scaleout: scaleoutPhase }[phase];
    try {
      const result = (await run()) as { invites?: { errors: number }; natural?: { notInactive: number }; burst?: { notInactive: number }; runs?: Array<{ check: { ok: boolean } }> };
      failed ||= (result.invites?.errors ?? 0) > 0 || (result.natural?.notInactive ?? 0) > 0 || (result.burst?.notInactive ?? 0) > 0 || (result.runs ?? []).some((r) => !r.check.ok);
    } catch (error) {
      failed = true;
      log(`${phase} failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    }
    // Each phase leaves nothing behind: its processes, server, catcher and database go now.
    await cleanUpAll();
  }
  return failed;
}

main().then(
  async (failed) => {
    await cleanUpAll();
    process.exit(failed ? 1 : 0);
  },
  async (error: unknown) => {
    log(`failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    await cleanUpAll();
    process.exit(1);
  },
);
