import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { Agent as HttpAgent, request as httpRequest } from 'node:http';
import { Client, Connection } from '@temporalio/client';
import postgres from 'postgres';
import { afterAll, afterEach, beforeAll, describe, expect, it, inject } from 'vitest';
import { createApp } from '../src/api/app.js';
import { startMailCatcher, type MailCatcher } from '../src/dev/mail-catcher.js';
import { freePort } from '../src/dev/ports.js';
import { createLogger } from '../src/log.js';
import { createSmtpMailer } from '../src/mail/mailer.js';
import { createSecretBox } from '../src/mail/secret-box.js';
import { loadPayloadCodec } from '../src/runtime.js';
import { dataConverterFor } from '../src/temporal/payload-codec.js';
import { createInvitationWorker } from '../src/temporal/worker.js';
import { invitationWorkflowId } from '../src/workflows/invitation.messages.js';
import { ADMIN_KEY, cloneDatabase, eventually, quietTemporalRuntime, testConfig } from './support/harness.js';

/**
 * Stopping a process (SIGTERM from a deploy, Ctrl-C) loses nothing: the worker stops polling
 * and lets a running mail activity finish within WORKER_SHUTDOWN_GRACE_TIME; one that outlives
 * it is cut off and retried by another worker; the API answers the requests it already has.
 * Each exits 0. The worker is `worker.ts` and the API `src/api/server.ts`, as deployed.
 */
let database: Awaited<ReturnType<typeof cloneDatabase>>;
let mail: MailCatcher;
let client: Client;
const children: ChildProcess[] = [];
const slow = new Map<string, { ms: number; started: () => void }>();
let env: Record<string, string>;

beforeAll(async () => {
  quietTemporalRuntime();
  database = await cloneDatabase();
  // A slow mail server: for the addresses a test names, the final answer to DATA comes late.
  mail = await startMailCatcher({
    smtpPort: 0,
    httpPort: null,
    answerDelayMs: ({ to }) => {
      const entry = slow.get(to[0]!);
      if (!entry) return 0;
      slow.delete(to[0]!); // only the first attempt is slow
      entry.started();
      return entry.ms;
    },
  });
  env = {
    DATABASE_URL: database.url,
    TEMPORAL_ADDRESS: inject('temporalAddress'),
    TEMPORAL_TASK_QUEUE: `shutdown-${randomBytes(4).toString('hex')}`,
    SMTP_URL: mail.smtpUrl,
    ADMIN_API_KEY: ADMIN_KEY,
    EMAIL_ENCRYPTION_KEY: randomBytes(32).toString('hex'),
    TEMPORAL_PAYLOAD_KEYS: `shutdown:${randomBytes(32).toString('hex')}`,
    LOG_LEVEL: 'info',
  };
  const config = testConfig(env);
  client = new Client({ connection: await Connection.connect({ address: env.TEMPORAL_ADDRESS! }), dataConverter: dataConverterFor(loadPayloadCodec(config)) });
});
afterEach(() => {
  for (const child of children.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
});
afterAll(async () => {
  await client?.connection.close();
  await mail?.close();
  await database?.drop();
});

function run(entry: string, extraEnv: Record<string, string> = {}) {
  const child = spawn(process.execPath, ['--import', 'tsx', entry], { env: { ...process.env, ...env, ...extraEnv }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (d) => (output += d));
  child.stderr!.on('data', (d) => (output += d));
  children.push(child);
  const exited = new Promise<{ code: number | null; at: number }>((resolve) => child.once('exit', (code) => resolve({ code, at: Date.now() })));
  return { child, output: () => output, exited };
}

/** Whether the worker process `child` polls our task queue (the SDK's identity is "<pid>@<host>"). */
async function polls(child: ChildProcess): Promise<boolean> {
  const { pollers } = await client.connection.workflowService.describeTaskQueue({
    namespace: 'default',
    taskQueue: { name: env.TEMPORAL_TASK_QUEUE },
    taskQueueType: 1, // TASK_QUEUE_TYPE_WORKFLOW
  });
  return (pollers ?? []).some((p) => p.identity?.startsWith(`${child.pid}@`));
}

const app = () =>
  createApp({ db: database.handle.db, temporal: client, config: testConfig(env), log: createLogger('silent'), adminKeys: [ADMIN_KEY] });

async function invite(username: string) {
  const res = await app().request('/api/v1/invitations', {
    method: 'POST',
    headers: { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'application/json' },
    body: JSON.stringify({ username, email: `${username}@example.com`, userType: 'member' }),
  });
  expect(res.status, await res.clone().text()).toBe(201);
}

/** Resolves when the slow server has the mail's data and starts holding its answer back. */
function slowFor(address: string, ms: number): Promise<void> {
  return new Promise((resolve) => slow.set(address, { ms, started: resolve }));
}

/**
 * A POST on a connection opened for it alone (fetch's pool would reuse an older socket), kept
 * alive after the answer like a browser's or a load balancer's, so that the server must close it.
 */
function postOnNewConnection(url: string, headers: Record<string, string>, body: string): Promise<{ status: number; body: string }> {
  const agent = new HttpAgent({ keepAlive: true });
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method: 'POST', headers: { ...headers, 'content-length': Buffer.byteLength(body) }, agent }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

const mailsTo = (address: string) => mail.messages().filter((m) => m.to.includes(address));
const logOf = (address: string) => database.handle.db.selectFrom('emails').select(['status', 'attempts', 'error']).where('to_address', '=', address).execute();

describe('graceful shutdown', () => {
  it('a worker told to stop finishes the mail it is sending, sends it once, and exits 0', async () => {
    const worker = run('worker.ts', { WORKER_SHUTDOWN_GRACE_TIME: '30s' });
    await eventually(() => polls(worker.child), 120_000, `the worker to poll:\n${worker.output()}`);

    // 8 s: longer than the SDK's cut-off would be without WORKER_SHUTDOWN_GRACE_TIME (5 s here).
    const inTheMiddle = slowFor('patient@example.com', 8000);
    await invite('patient');
    await inTheMiddle;
    const stoppedAt = Date.now();
    worker.child.kill('SIGTERM');

    const { code, at } = await worker.exited;
    expect(code, worker.output()).toBe(0);
    // It waited for the server's answer (8 s) instead of leaving at once.
    expect(at - stoppedAt).toBeGreaterThan(7000);
    expect(mailsTo('patient@example.com')).toHaveLength(1);
    expect(await logOf('patient@example.com')).toEqual([{ status: 'sent', attempts: 1, error: null }]);
  }, 180_000);

  it('a mail that outlives the grace time is cut off and sent by another worker: nothing lost, exit 0', async () => {
    const first = run('worker.ts', { WORKER_SHUTDOWN_GRACE_TIME: '1s' });
    await eventually(() => polls(first.child), 120_000, `the first worker to poll:\n${first.output()}`);

    const inTheMiddle = slowFor('hasty@example.com', 150_000);
    await invite('hasty');
    await inTheMiddle; // the first worker is talking to the slow server
    const second = run('worker.ts');
    await eventually(() => polls(second.child), 120_000, `the second worker to poll:\n${second.output()}`);

    const stoppedAt = Date.now();
    first.child.kill('SIGTERM');
    const { code, at } = await first.exited;
    expect(code, first.output()).toBe(0);
    expect(at - stoppedAt).toBeLessThan(15_000); // the grace time, not the slow server's 150 s

    // The server never answered the first attempt, so it kept nothing; the retry delivers.
    await eventually(async () => mailsTo('hasty@example.com').length > 0, 90_000, 'the retried mail').catch(async (error: Error) => {
      const users = await database.handle.db.selectFrom('users').select('id').where('username', '=', 'hasty').execute();
      const described = await client.workflow.getHandle(invitationWorkflowId(users[0]!.id)).describe();
      const pending = JSON.stringify(described.raw.pendingActivities?.map((a) => ({ state: a.state, attempt: a.attempt, lastFailure: a.lastFailure?.message, worker: a.lastWorkerIdentity })));
      throw new Error(`${error.message}; log: ${JSON.stringify(await logOf('hasty@example.com'))}; pending: ${pending}\nsecond worker:\n${second.output()}\nfirst:\n${first.output()}`);
    });
    await eventually(async () => (await logOf('hasty@example.com'))[0]?.status === 'sent', 10_000, 'the log to say sent');
    expect(mailsTo('hasty@example.com')).toHaveLength(1);
    expect((await logOf('hasty@example.com'))[0]).toMatchObject({ status: 'sent', attempts: 2 });

    second.child.kill('SIGTERM');
    expect((await second.exited).code).toBe(0);
  }, 300_000);

  it('the API told to stop refuses new connections, answers the request it has, then exits 0', async () => {
    // The worker runs here (any worker will do); the API is the process under test.
    const config = testConfig(env);
    const connection = await (await import('@temporalio/worker')).NativeConnection.connect({ address: env.TEMPORAL_ADDRESS! });
    const mailer = createSmtpMailer(mail.smtpUrl, config);
    const worker = await createInvitationWorker({
      connection,
      namespace: 'default',
      taskQueue: env.TEMPORAL_TASK_QUEUE!,
      deps: { db: database.handle.db, mailer, secretBox: createSecretBox(Buffer.from(env.EMAIL_ENCRYPTION_KEY!, 'hex')), config },
      payloadCodec: loadPayloadCodec(config),
      workflowBundle: { codePath: inject('workflowBundlePath') },
    });
    const running = worker.run();
    // Two connections: one holds the lock in a transaction, the other looks at pg_locks.
    const lock = postgres(database.url, { max: 2, onnotice: () => {} });
    let release: (() => void) | undefined;
    try {
      const port = await freePort();
      const base = `http://127.0.0.1:${port}`;
      const api = run('src/api/server.ts', { PORT: String(port), API_SHUTDOWN_GRACE_TIME: '30s' });
      await eventually(async () => (await fetch(`${base}/readyz`).catch(() => undefined))?.status === 200, 60_000, `the API:\n${api.output()}`);

      // Hold the users table so that registering the invitee (an insert into users) waits:
      // the request is in flight, inside the API, for as long as the test says.
      const held = new Promise<void>((resolve) => (release = resolve));
      let locked!: () => void;
      const isLocked = new Promise<void>((resolve) => (locked = resolve));
      const transaction = lock.begin(async (tx) => {
        await tx`lock table users in share mode`;
        locked();
        await held;
      });
      await isLocked;
      // On a connection of its own: fetch would reuse the keep-alive socket of the /readyz
      // polls, which the server may close as idle (keepAliveTimeout) just as the POST goes out.
      const request = postOnNewConnection(`${base}/api/v1/invitations`, {
        authorization: `Bearer ${ADMIN_KEY}`,
        'content-type': 'application/json',
      }, JSON.stringify({ username: 'inflight', email: 'inflight@example.com', userType: 'member' }));
      request.catch(() => {}); // awaited below; a failure must not surface as an unhandled rejection first
      await eventually(async () => {
        const [row] = await lock`select count(*)::int as n from pg_locks where not granted and relation = 'users'::regclass`;
        return row!.n > 0;
      }, 20_000, 'the invitation to wait for the users table');

      api.child.kill('SIGTERM');
      await eventually(async () => (await fetch(`${base}/healthz`).then(() => false, () => true)), 5_000, 'new connections to be refused');
      expect(api.child.exitCode).toBeNull(); // still draining
      release!();
      await transaction;

      const answer = await request;
      expect(answer.status, answer.body).toBe(201);
      const answeredAt = Date.now();
      const { code, at } = await api.exited;
      expect(code, api.output()).toBe(0);
      expect(at - answeredAt).toBeLessThan(10_000); // not held until the 30 s grace by an idle keep-alive
      await mail.waitFor((m) => m.to.includes('inflight@example.com'), 30_000);
    } finally {
      release?.(); // a failed step must not leave the lock's transaction (and lock.end()) waiting for ever
      await lock.end();
      worker.shutdown();
      await running;
      mailer.close();
      await connection.close();
    }
  }, 180_000);
});
