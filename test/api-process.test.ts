import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, inject } from 'vitest';
import { freePort } from '../src/dev/ports.js';
import { cloneDatabase, eventually } from './support/harness.js';

/**
 * `npm run start:api` (src/api/server.ts) as deployed, on what it tells and to whom (issue
 * 15.5): no key is made up in production nor written into its output, and its metrics are
 * served on a port of their own, never on the public one.
 */
let database: Awaited<ReturnType<typeof cloneDatabase>>;
const dataDir = mkdtempSync(path.join(tmpdir(), 'invitations-api-'));
const children: ChildProcess[] = [];
let env: Record<string, string>;

beforeAll(async () => {
  database = await cloneDatabase();
  env = {
    DATABASE_URL: database.url,
    TEMPORAL_ADDRESS: inject('temporalAddress'),
    TEMPORAL_TASK_QUEUE: `api-process-${randomBytes(4).toString('hex')}`,
    EMAIL_ENCRYPTION_KEY: randomBytes(32).toString('hex'),
    TEMPORAL_PAYLOAD_KEYS: `api:${randomBytes(32).toString('hex')}`,
    DATA_DIR: dataDir,
    LOG_LEVEL: 'info',
  };
});
afterAll(async () => {
  for (const child of children) child.kill('SIGKILL');
  await database?.drop();
  rmSync(dataDir, { recursive: true, force: true });
});

function startApi(extraEnv: Record<string, string>) {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/api/server.ts'], { env: { ...process.env, ...env, ...extraEnv }, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let output = '';
  child.stdout!.on('data', (d) => (output += d));
  child.stderr!.on('data', (d) => (output += d));
  return { child, output: () => output, exited: new Promise<number | null>((resolve) => child.once('exit', resolve)) };
}

describe('the API process', () => {
  it('refuses to start in production without ADMIN_API_KEY, in one line, instead of making up a key of its own', async () => {
    const api = startApi({ NODE_ENV: 'production', ADMIN_API_KEY: '', PORT: String(await freePort()) });
    expect(await api.exited).toBe(1);
    // The start check (issue 17.6) lists what is wrong, one line each, naming the setting; no stack trace.
    const output = api.output();
    expect(output).toMatch(/ADMIN_API_KEY: required in production/);
    expect(output).not.toMatch(/^\s+at /m);
  }, 60_000);

  it('outside production uses a local key it never writes into its log, and serves its metrics only on METRICS_PORT', async () => {
    const [port, metricsPort] = [await freePort(), await freePort()];
    const api = startApi({ NODE_ENV: 'development', ADMIN_API_KEY: '', PORT: String(port), METRICS_PORT: String(metricsPort) });
    const base = `http://127.0.0.1:${port}`;
    await eventually(async () => (await fetch(`${base}/healthz`).catch(() => undefined))?.status === 200, 60_000, `the API process:\n${api.output()}`);

    const keyFile = path.join(dataDir, 'admin-api.key');
    const key = readFileSync(keyFile, 'utf8').trim();
    const users = await fetch(`${base}/api/v1/users`, { headers: { authorization: `Bearer ${key}` } });
    expect(users.status).toBe(200);
    expect(api.output()).toContain(keyFile);

    // The public port has no metrics, with or without a key; the metrics port has them all.
    for (const headers of [{}, { authorization: `Bearer ${key}` }] as Array<Record<string, string>>) {
      const res = await fetch(`${base}/metrics`, { headers });
      expect(res.status).toBe(404);
      expect(res.headers.get('content-type')).toContain('application/problem+json');
    }
    const scraped = await fetch(`http://127.0.0.1:${metricsPort}/metrics`);
    expect(scraped.status).toBe(200);
    const text = await scraped.text();
    expect(text).toMatch(/http_request_duration_seconds_count\{method="GET",route="\/api\/v1\/users",status="200"\} 1/);
    expect(text).toMatch(/http_request_duration_seconds_count\{method="GET",route="[^"]*",status="404"\} 2/);
    expect(text).toContain('invitation_records_gone_total');

    api.child.kill('SIGTERM');
    expect(await api.exited).toBe(0);
    expect(api.output()).not.toContain(key);
  }, 120_000);
});
