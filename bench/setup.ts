/**
 * Set-up shared by the capacity bench (bench/capacity.ts): a throw-away Postgres database,
 * a Temporal dev server whose pid we know, the production entry points (src/api/server.ts,
 * worker.ts) as child processes, and a clean-up list that runs on exit, Ctrl-C or a watchdog.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { Connection } from '@temporalio/client';
import postgres from 'postgres';
import { freePort } from '../src/dev/ports.js';
import { startTemporalDevServer } from '../src/dev/temporal-dev-server.js';
export { workerProcessSettings } from '../scripts/worker-process.js';
import { findDevServerPid, machineBusySeconds, procCpuSeconds, procMemory } from './lib.js';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const log = (line: string) => process.stderr.write(`[capacity ${new Date().toISOString().slice(11, 19)}] ${line}\n`);
export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
export const round = (n: number, digits = 1) => Math.round(n * 10 ** digits) / 10 ** digits;

// ---------------------------------------------------------------------------------------------
// Clean-up: last in, first out; once, whichever way the process ends.

type Cleanup = { what: string; run: () => Promise<unknown> | unknown };
const cleanups: Cleanup[] = [];
const children = new Set<ChildProcess>();

export function onCleanup(what: string, run: () => Promise<unknown> | unknown): Cleanup {
  const entry = { what, run };
  cleanups.push(entry);
  return entry;
}

/** Runs (and forgets) one clean-up now, e.g. a phase's processes before the next phase. */
export async function cleanUpNow(entry: Cleanup) {
  const at = cleanups.indexOf(entry);
  if (at < 0) return;
  cleanups.splice(at, 1);
  try {
    await entry.run();
  } catch (error) {
    log(`while stopping ${entry.what}: ${(error as Error).message}`);
  }
}

let cleaningUp: Promise<void> | undefined;
/** Everything registered so far (a phase's end, or the process's); callers at the same time share one run. */
export function cleanUpAll(): Promise<void> {
  cleaningUp ??= (async () => {
    while (cleanups.length) await cleanUpNow(cleanups[cleanups.length - 1]!);
  })().finally(() => {
    cleaningUp = undefined;
  });
  return cleaningUp;
}

/** Ctrl-C, SIGTERM and a watchdog clean up before exiting; a hard exit still kills the children. */
export function installExitHandlers(maxSeconds: number) {
  const watchdog = setTimeout(() => {
    log(`gave up after BENCH_MAX_SECONDS=${maxSeconds}`);
    void cleanUpAll().finally(() => process.exit(2));
  }, maxSeconds * 1000);
  watchdog.unref();
  process.once('SIGINT', () => void cleanUpAll().finally(() => process.exit(130)));
  process.once('SIGTERM', () => void cleanUpAll().finally(() => process.exit(143)));
  process.once('exit', () => {
    for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
}

// ---------------------------------------------------------------------------------------------
// Postgres

export interface BenchDatabase {
  name: string;
  url: string;
  sql: postgres.Sql;
  sizeBytes(): Promise<number>;
}

export async function createBenchDatabase(adminUrl: string, name: string): Promise<BenchDatabase> {
  const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
  onCleanup('admin connection', () => admin.end());
  await admin.unsafe(`drop database if exists ${name} with (force)`);
  await admin.unsafe(`create database ${name}`);
  onCleanup(`drop database ${name}`, () => admin.unsafe(`drop database if exists ${name} with (force)`));
  const url = Object.assign(new URL(adminUrl), { pathname: `/${name}` }).toString();
  const sql = postgres(url, { max: 2, onnotice: () => {} });
  onCleanup(`connection to ${name}`, () => sql.end());
  return {
    name,
    url,
    sql,
    async sizeBytes() {
      const [row] = await admin<{ size: string }[]>`select pg_database_size(${name})::text as size`;
      return Number(row?.size ?? NaN);
    },
  };
}

/** Rows and bytes (table + indexes + TOAST) per table of the bench database. */
export async function tableSizes(db: BenchDatabase): Promise<Array<{ table: string; rows: number; bytes: number }>> {
  const tables = await db.sql<{ table: string; bytes: string }[]>`
    select relname as table, pg_total_relation_size(relid)::text as bytes from pg_stat_user_tables order by pg_total_relation_size(relid) desc`;
  const out = [];
  for (const t of tables) {
    const [row] = await db.sql.unsafe<{ n: string }[]>(`select count(*)::text as n from "${t.table.replace(/"/g, '""')}"`);
    out.push({ table: t.table, rows: Number(row?.n ?? 0), bytes: Number(t.bytes) });
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Temporal

export interface BenchTemporal {
  address: string;
  pid: number | undefined;
  /** The SQLite file when file-backed (`npm start` persists to one), else undefined. */
  dbFile: string | undefined;
}

export async function startBenchTemporal(options: { dbFile?: string | undefined } = {}): Promise<BenchTemporal> {
  const existing = process.env.TEMPORAL_ADDRESS;
  if (existing) return { address: existing, pid: undefined, dbFile: undefined };
  const port = await freePort();
  const server = await startTemporalDevServer({ port, uiPort: await freePort(), namespace: 'default', headless: true, dbFile: options.dbFile });
  onCleanup('temporal dev server', () => server.stop());
  return { address: server.address, pid: findDevServerPid(port), dbFile: options.dbFile };
}

/** Identities polling the task queue's workflow tasks (the server lists a poller for minutes after it stopped). */
export async function workflowPollers(address: string, taskQueue: string): Promise<Set<string>> {
  const connection = await Connection.connect({ address });
  try {
    const { pollers } = await connection.workflowService.describeTaskQueue({
      namespace: 'default',
      taskQueue: { name: taskQueue },
      taskQueueType: 1, // TASK_QUEUE_TYPE_WORKFLOW
    });
    return new Set((pollers ?? []).map((p) => p.identity ?? ''));
  } finally {
    await connection.close();
  }
}

// ---------------------------------------------------------------------------------------------
// The service's own processes

export interface ServiceProcess {
  name: string;
  pid: number;
  child: ChildProcess;
  startedAt: number;
  output(): string;
  exited: Promise<number | null>;
  stop(): Promise<void>;
}

/** `node [nodeArgs] --import tsx <entry>` (what `npm run start:api` / `start:worker` run, without tsx's extra parent process). */
export function spawnService(name: string, entry: string, env: Record<string, string | undefined>, nodeArgs: string[] = []): ServiceProcess {
  const child = spawn(process.execPath, [...nodeArgs, '--import', 'tsx', entry], { cwd: repoRoot, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  let output = '';
  const collect = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-8000);
  };
  child.stdout!.on('data', collect);
  child.stderr!.on('data', collect);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  void exited.then(() => children.delete(child));
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  };
  const entryCleanup = onCleanup(`${name} (pid ${child.pid})`, stop);
  return {
    name,
    pid: child.pid!,
    child,
    startedAt: performance.now(),
    output: () => output,
    exited,
    stop: () => cleanUpNow(entryCleanup),
  };
}

export async function eventually(check: () => Promise<boolean> | boolean, timeoutMs: number, what: string, everyMs = 250) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(everyMs);
  }
}

export async function waitForApi(baseUrl: string, proc: ServiceProcess, timeoutMs = 120_000) {
  await eventually(
    async () => {
      if (proc.child.exitCode !== null) throw new Error(`${proc.name} exited (${proc.child.exitCode}):\n${proc.output()}`);
      return (await fetch(`${baseUrl}/readyz`).catch(() => undefined))?.status === 200;
    },
    timeoutMs,
    `${proc.name} at ${baseUrl}/readyz:\n${proc.output()}`,
  );
}

/**
 * Until every one of `procs` polls the queue, told by its identity (the SDK's default is
 * `<pid>@<host>`): a worker that just stopped stays listed for a while, so a count would
 * mistake it for its successor. Returns when (performance.now()) that was first seen.
 */
export async function waitForWorkers(address: string, taskQueue: string, procs: ServiceProcess[], timeoutMs = 180_000): Promise<number> {
  await eventually(
    async () => {
      for (const p of procs) if (p.child.exitCode !== null) throw new Error(`${p.name} exited (${p.child.exitCode}):\n${p.output()}`);
      const identities = [...(await workflowPollers(address, taskQueue))];
      return procs.every((p) => identities.some((id) => id.startsWith(`${p.pid}@`)));
    },
    timeoutMs,
    `${procs.length} worker(s) polling ${taskQueue}:\n${procs.map((p) => p.output()).join('\n')}`,
    500,
  );
  return performance.now();
}

// ---------------------------------------------------------------------------------------------
// What else ran: the machine's CPU beside ours, and the busiest other processes

export interface OtherLoad {
  wallSeconds: number;
  loadAverage: [number, number, number];
  /** Busy CPU seconds of the whole machine (all cores). */
  machineCpuSeconds: number;
  /** Of which our processes (bench, API, workers, dev server). */
  oursCpuSeconds: number;
  /** Every postgres process: ours and other engineers' databases alike (one server). */
  postgresCpuSeconds: number;
  otherCpuSeconds: number;
  /** The busiest processes that are not ours, CPU seconds in the window. */
  topOthers: Array<{ pid: number; command: string; cpuSeconds: number }>;
}

function allProcessCpu(): Map<number, { cpu: number; command: string; ppid: number }> {
  const out = new Map<number, { cpu: number; command: string; ppid: number }>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const pid = Number(name);
    const cpu = procCpuSeconds(pid);
    if (cpu === null) continue;
    let command = '';
    let ppid = 0;
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      command = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean).join(' ').slice(0, 120);
      if (!command) command = readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
    } catch {
      continue;
    }
    out.set(pid, { cpu, command, ppid });
  }
  return out;
}

/** A window over which to tell our CPU from everyone else's. `ours` is asked at the end (pids may change). */
export function watchLoad(ours: () => number[]) {
  const started = performance.now();
  const machine = machineBusySeconds();
  const before = allProcessCpu();
  const self = process.cpuUsage();
  return (): OtherLoad => {
    const after = allProcessCpu();
    // Ours: this process, the given ones, and their descendants (tsx's esbuild, the CLI's server).
    const ourPids = new Set([process.pid, ...ours()]);
    for (let grew = true; grew; ) {
      grew = false;
      for (const [pid, p] of after) if (!ourPids.has(pid) && ourPids.has(p.ppid)) grew = ourPids.add(pid) !== undefined;
    }
    let oursCpu = 0;
    let postgresCpu = 0;
    const others: OtherLoad['topOthers'] = [];
    for (const [pid, now] of after) {
      const delta = now.cpu - (before.get(pid)?.cpu ?? 0);
      const isPostgres = now.command.startsWith('postgres');
      if (pid === process.pid) continue;
      if (isPostgres) postgresCpu += delta;
      else if (ourPids.has(pid)) oursCpu += delta;
      else if (delta > 0) others.push({ pid, command: now.command, cpuSeconds: round(delta, 2) });
    }
    const selfUsage = process.cpuUsage(self);
    oursCpu += (selfUsage.user + selfUsage.system) / 1e6;
    const machineCpu = machineBusySeconds() - machine;
    others.sort((a, b) => b.cpuSeconds - a.cpuSeconds);
    return {
      wallSeconds: round((performance.now() - started) / 1000),
      loadAverage: loadavg().map((l) => round(l, 2)) as [number, number, number],
      machineCpuSeconds: round(machineCpu),
      oursCpuSeconds: round(oursCpu),
      postgresCpuSeconds: round(postgresCpu),
      otherCpuSeconds: round(Math.max(0, machineCpu - oursCpu - postgresCpu)),
      topOthers: others.slice(0, 3),
    };
  };
}

export function describeLoad(load: OtherLoad): string {
  const top = load.topOthers.map((o) => `${o.command.split(' ').slice(0, 3).join(' ')} ${o.cpuSeconds}s`).join('; ');
  return `${load.wallSeconds} s wall; load avg ${load.loadAverage.join(' ')}; machine CPU ${load.machineCpuSeconds} s = ours ${load.oursCpuSeconds} s + postgres (all databases) ${load.postgresCpuSeconds} s + other ${load.otherCpuSeconds} s${top ? ` (top others: ${top})` : ''}`;
}

export const rssMiB = (pid: number | undefined) => (pid === undefined ? null : (procMemory(pid)?.rssMiB ?? null));
export const peakRssMiB = (pid: number | undefined) => (pid === undefined ? null : (procMemory(pid)?.peakRssMiB ?? null));
