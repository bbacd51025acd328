import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { Connection } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it, inject } from 'vitest';
import { startMailCatcher, type MailCatcher } from '../src/dev/mail-catcher.js';
import { cloneDatabase, eventually, linkFrom } from './support/harness.js';
import { freePort } from '../src/dev/ports.js';
import { workerProcessSettings } from '../scripts/worker-process.js';

/**
 * The production entry points on their own: one API process and two `worker.ts` processes
 * against the run's Temporal server, a Postgres database and an SMTP server, configured
 * only by the environment names of api.md. Killing one worker loses nothing.
 */
let database: Awaited<ReturnType<typeof cloneDatabase>>;
let mail: MailCatcher;
const children: ChildProcess[] = [];
let env: Record<string, string>;
let api: string;

function run(entry: string, extraEnv: Record<string, string> = {}, nodeArgs: string[] = []) {
  const child = spawn(process.execPath, [...nodeArgs, '--import', 'tsx', entry], { env: { ...process.env, ...env, ...extraEnv }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (d) => (output += d));
  child.stderr!.on('data', (d) => (output += d));
  children.push(child);
  return { child, output: () => output, exited: new Promise<number | null>((resolve) => child.once('exit', resolve)) };
}

beforeAll(async () => {
  database = await cloneDatabase();
  mail = await startMailCatcher({ smtpPort: 0, httpPort: null });
  const port = await freePort();
  api = `http://127.0.0.1:${port}`;
  env = {
    PORT: String(port),
    DATABASE_URL: database.url,
    TEMPORAL_ADDRESS: inject('temporalAddress'),
    TEMPORAL_TASK_QUEUE: `separate-${randomBytes(4).toString('hex')}`,
    SMTP_URL: mail.smtpUrl,
    ADMIN_API_KEY: 'separate-processes-admin-key',
    EMAIL_ENCRYPTION_KEY: randomBytes(32).toString('hex'),
    TEMPORAL_PAYLOAD_KEYS: `separate:${randomBytes(32).toString('hex')}`,
    PUBLIC_BASE_URL: 'https://invite.example.test',
    LOG_LEVEL: 'warn',
  };
});
afterAll(async () => {
  for (const child of children) child.kill('SIGKILL');
  await mail?.close();
  await database?.drop();
});

async function workflowPollers(): Promise<number> {
  const connection = await Connection.connect({ address: inject('temporalAddress') });
  try {
    const { pollers } = await connection.workflowService.describeTaskQueue({
      namespace: 'default',
      taskQueue: { name: env.TEMPORAL_TASK_QUEUE },
      taskQueueType: 1, // TASK_QUEUE_TYPE_WORKFLOW
    });
    return new Set((pollers ?? []).map((p) => p.identity)).size;
  } finally {
    await connection.close();
  }
}

const invite = (username: string) =>
  fetch(`${api}/api/v1/invitations`, {
    method: 'POST',
    headers: { authorization: 'Bearer separate-processes-admin-key', 'content-type': 'application/json' },
    body: JSON.stringify({ username, email: `${username}@example.com`, userType: 'member' }),
  });

describe('the API and worker processes run separately, several side by side', () => {
  it('refuses to start a worker without its external services', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'worker.ts'], {
      env: { ...process.env, DATABASE_URL: '', TEMPORAL_ADDRESS: '', SMTP_URL: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stderr!.on('data', (d) => (output += d));
    const code = await new Promise((resolve) => child.once('exit', resolve));
    expect(code).toBe(1);
    for (const name of ['DATABASE_URL', 'TEMPORAL_ADDRESS', 'SMTP_URL']) expect(output).toContain(`- ${name}: required`);
  });

  it('uses the prebuilt workflow bundle it is given: a missing file stops it at start', async () => {
    const worker = run('worker.ts', { WORKER_WORKFLOW_BUNDLE: '/nonexistent/workflows.js' });
    expect(await worker.exited).not.toBe(0);
    expect(worker.output()).toContain('/nonexistent/workflows.js');
  }, 120_000);

  it('serves invitations with two workers, and keeps serving when one is killed', async () => {
    const apiProcess = run('src/api/server.ts');
    const metricsPort = await freePort();
    // The second worker runs as `npm run start:worker` starts it: the run's prebuilt workflow
    // bundle (WORKER_WORKFLOW_BUNDLE), the script's V8 heap limits and malloc arenas. It is the
    // one left serving after the first (webpack at start, no limits) is killed below.
    const production = workerProcessSettings();
    const workers = [
      run('worker.ts'),
      run('worker.ts', { ...production.env, WORKER_METRICS_PORT: String(metricsPort), WORKER_WORKFLOW_BUNDLE: inject('workflowBundlePath') }, production.nodeArgs),
    ];
    await eventually(async () => (await fetch(`${api}/readyz`).catch(() => undefined))?.status === 200, 60_000, `the API process:\n${apiProcess.output()}`);
    // Each worker bundles the workflow code at start: on a busy machine that takes a while, and
    // an invitation posted before any worker polls only waits. Start once both are there.
    await eventually(async () => (await workflowPollers()) >= 2, 120_000, `two polling workers:\n${workers.map((w) => w.output()).join('\n')}`);

    const first = await Promise.all(['sep.a', 'sep.b', 'sep.c', 'sep.d'].map(invite));
    expect(first.map((r) => r.status)).toEqual([201, 201, 201, 201]);
    await eventually(async () => ['sep.a', 'sep.b', 'sep.c', 'sep.d'].every((u) => mail.messages().some((m) => m.to.includes(`${u}@example.com`))), 60_000, 'the first mails');
    const link = linkFrom(mail.messages().find((m) => m.to.includes('sep.a@example.com'))!.text);
    expect(link.url.startsWith('https://invite.example.test/invitations/accept?lang=de#token=')).toBe(true);

    // A worker on its own serves the metrics its steps count (a record gone, for instance).
    const scraped = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
    expect(scraped).toContain('# TYPE invitation_records_gone_total counter');

    workers[0]!.child.kill('SIGKILL');
    await workers[0]!.exited;
    const second = await Promise.all(['sep.e', 'sep.f'].map(invite));
    expect(second.map((r) => r.status)).toEqual([201, 201]);
    await eventually(async () => ['sep.e', 'sep.f'].every((u) => mail.messages().some((m) => m.to.includes(`${u}@example.com`))), 90_000, 'mails after a worker died');

    const accept = await fetch(`${api}/api/v1/public/invitations/accept`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ token: link.token, password: 'separate but together' }),
    });
    expect(accept.status).toBe(200);

    apiProcess.child.kill('SIGTERM');
    workers[1]!.child.kill('SIGTERM');
    expect(await apiProcess.exited).toBe(0);
    expect(await workers[1]!.exited).toBe(0);
  }, 180_000);
});
