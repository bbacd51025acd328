import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CONFIG_VARIABLES, loadConfig } from '../src/config.js';
import { runningServiceUrl } from '../src/dev/running-service.js';
import { processStartProblems } from '../src/runtime.js';

/**
 * A production process checks at start every setting it will need, secrets included, and
 * says all that is wrong at once (issue 17.6); `npm run keys` makes the secrets.
 */
const dir = mkdtempSync(path.join(tmpdir(), 'start-checks-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const cleared = { DATABASE_URL: '', TEMPORAL_ADDRESS: '', SMTP_URL: '', EMAIL_ENCRYPTION_KEY: '', TEMPORAL_PAYLOAD_KEYS: '', ADMIN_API_KEY: '', DATA_DIR: dir };

function start(args: string[], env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', ...args], { env: { ...process.env, ...cleared, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}

const services = { DATABASE_URL: 'postgres://nobody@127.0.0.1:1/none', TEMPORAL_ADDRESS: '127.0.0.1:1', SMTP_URL: 'smtp://127.0.0.1:1' };

describe('the production processes check their settings at start', () => {
  it('the API in production lists every missing secret at once, with no stack trace', async () => {
    const run = await start(['src/api/server.ts'], { ...services, NODE_ENV: 'production' });
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('The API process (npm run start:api) cannot start:');
    expect(run.stderr).toMatch(/- EMAIL_ENCRYPTION_KEY: required/);
    expect(run.stderr).toMatch(/- TEMPORAL_PAYLOAD_KEYS: required/);
    expect(run.stderr).toMatch(/- ADMIN_API_KEY: required in production/);
    expect(run.stderr + run.stdout).not.toMatch(/\n\s+at /);
  });

  it('the worker lists its missing services and every bad value together, without the values', async () => {
    const run = await start(['worker.ts'], {
      EMAIL_ENCRYPTION_KEY: 'not-a-key-secret-1',
      TEMPORAL_PAYLOAD_KEYS: 'nocolon-secret-2',
      LOG_LEVEL: 'loud',
      NODE_ENV: 'production',
    });
    expect(run.code).toBe(1);
    const lines = run.stderr.split('\n').filter((l) => l.startsWith('  - '));
    const names = lines.map((l) => l.slice(4).split(/[: (]/)[0]);
    expect(new Set(names)).toEqual(new Set(['DATABASE_URL', 'TEMPORAL_ADDRESS', 'SMTP_URL', 'EMAIL_ENCRYPTION_KEY', 'TEMPORAL_PAYLOAD_KEYS', 'LOG_LEVEL']));
    // The worker has no admin API: no ADMIN_API_KEY line.
    expect(run.stderr).not.toContain('ADMIN_API_KEY');
    expect(run.stderr).not.toContain('secret-1');
    expect(run.stderr).not.toContain('secret-2');
    expect(run.stderr + run.stdout).not.toMatch(/\n\s+at /);
  });

  it('npm run keys prints fresh values for every secret, which both processes accept', async () => {
    const runs = await Promise.all([start(['scripts/keys.ts'], {}), start(['scripts/keys.ts'], {})]);
    const parsed = runs.map((run) => {
      expect(run.code, run.stderr).toBe(0);
      return Object.fromEntries(run.stdout.split('\n').filter((l) => /^[A-Z_]+=/.test(l)).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
    });
    expect(Object.keys(parsed[0]!).sort()).toEqual(['ADMIN_API_KEY', 'EMAIL_ENCRYPTION_KEY', 'TEMPORAL_PAYLOAD_KEYS']);
    for (const name of Object.keys(parsed[0]!)) expect(parsed[0]![name]).not.toBe(parsed[1]![name]);
    const env = { ...services, ...parsed[0], NODE_ENV: 'production' };
    expect(processStartProblems(loadConfig(env), 'api', env)).toEqual([]);
    expect(processStartProblems(loadConfig(env), 'worker', env)).toEqual([]);
    // And without them, each is named.
    expect(processStartProblems(loadConfig({ ...services, NODE_ENV: 'production' }), 'api', { NODE_ENV: 'production' }).map((p) => p.split(':')[0])).toEqual(['EMAIL_ENCRYPTION_KEY', 'TEMPORAL_PAYLOAD_KEYS', 'ADMIN_API_KEY']);
  });

  it('.env.example lists every variable of the configuration', () => {
    const listed = new Set([...readFileSync('.env.example', 'utf8').matchAll(/^#? ?([A-Z][A-Z0-9_]*)=/gm)].map((m) => m[1]));
    expect(CONFIG_VARIABLES.filter((name) => !listed.has(name))).toEqual([]);
  });
});

describe('npm run invite finds the service', () => {
  it('that npm start recorded in DATA_DIR while it runs, else localhost:PORT', () => {
    const dataDir = mkdtempSync(path.join(dir, 'data-'));
    expect(runningServiceUrl({ DATA_DIR: dataDir, PORT: '4123' })).toBe('http://localhost:4123');
    writeFileSync(path.join(dataDir, 'service.json'), JSON.stringify({ url: 'http://localhost:5555', pid: process.pid }));
    expect(runningServiceUrl({ DATA_DIR: dataDir, PORT: '4123' })).toBe('http://localhost:5555');
    expect(runningServiceUrl({ DATA_DIR: dataDir, INVITATIONS_URL: 'http://elsewhere:1' })).toBe('http://elsewhere:1');
    // A record left by a service that died is not believed.
    writeFileSync(path.join(dataDir, 'service.json'), JSON.stringify({ url: 'http://localhost:5555', pid: 2 ** 22 + 17 }));
    expect(runningServiceUrl({ DATA_DIR: dataDir, PORT: '4123' })).toBe('http://localhost:4123');
  });
});
