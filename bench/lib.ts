import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/** Small helpers for bench/run.ts: statistics, a bounded pool, /proc readers, a table printer. */

export function envInt(name: string, fallback: number, min = 0): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min) throw new Error(`${name}=${raw}: expected an integer >= ${min}`);
  return value;
}


export interface LatencyStats {
  count: number;
  min: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
  mean: number;
}

/** Nearest-rank percentiles, in milliseconds rounded to 0.01. */
export function latencyStats(samples: number[]): LatencyStats | null {
  if (samples.length === 0) return null;
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (p: number) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
  const r = (n: number) => Math.round(n * 100) / 100;
  return {
    count: sorted.length,
    min: r(sorted[0]!),
    p50: r(at(50)),
    p95: r(at(95)),
    p99: r(at(99)),
    max: r(sorted[sorted.length - 1]!),
    mean: r(sorted.reduce((a, b) => a + b, 0) / sorted.length),
  };
}

/** Runs task(0..count-1) with at most `concurrency` in flight; resolves when all settled. */
export async function pool(count: number, concurrency: number, task: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  const lanes = Array.from({ length: Math.max(1, Math.min(concurrency, count)) }, async () => {
    while (next < count) {
      const i = next++;
      await task(i);
    }
  });
  await Promise.all(lanes);
}

/** `global.gc` when node runs with --expose-gc; otherwise the V8 flag set at run time (works on Node 20). */
export function findGc(): { gc: (() => void) | undefined; how: string } {
  const existing = (globalThis as { gc?: () => void }).gc;
  if (typeof existing === 'function') return { gc: existing, how: 'global.gc (--expose-gc)' };
  try {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as unknown;
    if (typeof gc === 'function') return { gc: gc as () => void, how: "v8.setFlagsFromString('--expose-gc') at run time" };
  } catch {
    // fall through
  }
  return { gc: undefined, how: 'not available' };
}

export interface MemorySample {
  rssMiB: number;
  heapUsedMiB: number;
  heapTotalMiB: number;
  externalMiB: number;
  arrayBuffersMiB: number;
}

const mib = (bytes: number) => Math.round((bytes / 1024 / 1024) * 10) / 10;

export function memorySample(): MemorySample {
  const m = process.memoryUsage();
  return { rssMiB: mib(m.rss), heapUsedMiB: mib(m.heapUsed), heapTotalMiB: mib(m.heapTotal), externalMiB: mib(m.external), arrayBuffersMiB: mib(m.arrayBuffers) };
}

/** VmRSS and VmHWM (peak) of another process, from /proc/<pid>/status. */
export function procMemory(pid: number): { rssMiB: number; peakRssMiB: number } | null {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
    return { rssMiB: Math.round((kb('VmRSS') / 1024) * 10) / 10, peakRssMiB: Math.round((kb('VmHWM') / 1024) * 10) / 10 };
  } catch {
    return null;
  }
}

const CLOCK_TICKS = 100; // USER_HZ on Linux x86_64

/** utime + stime of a process in seconds, from /proc/<pid>/stat. */
export function procCpuSeconds(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name is in parentheses and may contain spaces: split after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
  } catch {
    return null;
  }
}

function cmdline(pid: string): string[] {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
  } catch {
    return [];
  }
}

const pids = () => readdirSync('/proc').filter((name) => /^\d+$/.test(name));

/** The `temporal server start-dev --port <port>` process (startTemporalDevServer doesn't expose its child). */
export function findDevServerPid(port: number): number | undefined {
  for (const pid of pids()) {
    const args = cmdline(pid);
    const portAt = args.indexOf('--port');
    if (args.includes('start-dev') && portAt >= 0 && args[portAt + 1] === String(port)) return Number(pid);
  }
  return undefined;
}

/** Every process whose command is postgres (server and backends: all databases, not only ours). */
export function postgresPids(): number[] {
  const found: number[] = [];
  for (const pid of pids()) {
    try {
      const comm = readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
      if (comm === 'postgres' || comm.startsWith('postgres:')) found.push(Number(pid));
    } catch {
      // gone
    }
  }
  return found;
}

/** Busy CPU seconds of the whole machine (all cores) since boot, from /proc/stat. */
export function machineBusySeconds(): number {
  try {
    const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
    // user nice system idle iowait irq softirq steal ...: busy = all but idle and iowait
    const busy = fields.reduce((a, b) => a + b, 0) - (fields[3] ?? 0) - (fields[4] ?? 0);
    return busy / CLOCK_TICKS;
  } catch {
    return NaN;
  }
}

export function sumCpu(pidList: number[]): number {
  return pidList.reduce((sum, pid) => sum + (procCpuSeconds(pid) ?? 0), 0);
}

export function machineInfo() {
  let cpuModel = 'unknown';
  try {
    cpuModel = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1]?.trim() ?? cpuModel;
  } catch {
    cpuModel = os.cpus()[0]?.model ?? cpuModel;
  }
  return {
    cpuModel,
    cores: os.availableParallelism(),
    ramGiB: Math.round((os.totalmem() / 1024 ** 3) * 10) / 10,
    os: `${os.type()} ${os.release()} (${os.arch()})`,
    node: process.version,
    loadAverageAtStart: os.loadavg().map((l) => Math.round(l * 100) / 100),
  };
}

export function commandVersion(file: string, args: string[]): string {
  try {
    return execFileSync(file, args, { encoding: 'utf8', timeout: 10_000 }).trim();
  } catch (error) {
    return `unknown (${(error as Error).message.split('\n')[0]})`;
  }
}

/** A plain aligned text table. */
export function table(headers: string[], rows: Array<Array<string | number>>): string {
  const cells = [headers, ...rows.map((r) => r.map(String))];
  const widths = headers.map((_, c) => Math.max(...cells.map((r) => (r[c] ?? '').length)));
  const line = (r: string[]) => r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('  ');
  return [line(headers), widths.map((w) => '-'.repeat(w)).join('  '), ...cells.slice(1).map(line)].join('\n');
}
