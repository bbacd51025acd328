import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMailCatcher, type MailCatcher } from '../src/dev/mail-catcher.js';
import { freePort } from '../src/dev/ports.js';
import { startTemporalDevServer, type DevServer } from '../src/dev/temporal-dev-server.js';
import { cloneDatabase, eventually } from './support/harness.js';

/**
 * A worker's shutdown is bounded by WORKER_SHUTDOWN_GRACE_TIME whatever state it is in (issue
 * 19.6: one sat in DRAINING for over 30 s after SIGINT). Here the Temporal server is gone when
 * the worker is told to stop: without the watchdog this shutdown took ~9 s with a grace time
 * of 1 s and exited 0 as if all were well; the watchdog ends it at grace + margin (6 s),
 * non-zero and saying why. The dev server is this test's own, so that killing it leaves the
 * suite's alone.
 */
let database: Awaited<ReturnType<typeof cloneDatabase>>;
let mail: MailCatcher;
let temporal: DevServer;
let dir: string;
beforeAll(async () => {
  database = await cloneDatabase();
  mail = await startMailCatcher({ smtpPort: 0, httpPort: null });
  dir = mkdtempSync(path.join(tmpdir(), 'watchdog-'));
  temporal = await startTemporalDevServer({ dbFile: path.join(dir, 'temporal.db'), port: await freePort(), uiPort: 0, namespace: 'default', headless: true });
}, 60_000);
afterAll(async () => {
  await temporal?.stop();
  await mail?.close();
  await database?.drop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('a worker told to stop', () => {
  it('exits non-zero, and says why, once its shutdown outlives the grace time (here: Temporal gone)', { timeout: 90_000 }, async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'worker.ts'], {
      env: {
        ...process.env,
        DATABASE_URL: database.url,
        TEMPORAL_ADDRESS: temporal.address,
        TEMPORAL_TASK_QUEUE: `watchdog-${randomBytes(4).toString('hex')}`,
        SMTP_URL: mail.smtpUrl,
        EMAIL_ENCRYPTION_KEY: randomBytes(32).toString('hex'),
        TEMPORAL_PAYLOAD_KEYS: `watchdog:${randomBytes(32).toString('hex')}`,
        WORKER_SHUTDOWN_GRACE_TIME: '1s',
        LOG_LEVEL: 'info',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout!.on('data', (d) => (output += d));
    child.stderr!.on('data', (d) => (output += d));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    try {
      await eventually(async () => output.includes('worker polling'), 60_000, 'the worker to poll');
      await temporal.stop();
      child.kill('SIGINT');
      const code = await Promise.race([exited, new Promise<'still running'>((r) => setTimeout(() => r('still running'), 45_000))]);
      expect(code, output).not.toBe('still running');
      expect(code, output).not.toBe(0);
      expect(output).toContain('worker shutdown did not finish within WORKER_SHUTDOWN_GRACE_TIME');
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });
});
