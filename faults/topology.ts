import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import postgres from 'postgres';
import { startMailCatcher, type MailCatcher } from '../src/dev/mail-catcher.js';
import { freePort } from '../src/dev/ports.js';
import { findTemporalCli } from '../src/dev/temporal-cli.js';
import { devServerArgs } from '../src/dev/temporal-dev-server.js';
import { bundleInvitationWorkflows } from '../src/temporal/bundle.js';
import { dataConverterFor, parsePayloadKeys, PayloadEncryptionCodec } from '../src/temporal/payload-codec.js';
import { startTcpProxy } from './tcp-proxy.js';

/**
 * The production shape, on one machine, with a hand on every part: the API and the worker as
 * their own processes (`src/api/server.ts`, `worker.ts`, as deployed), a Temporal dev server
 * persisted to a file (so a SIGKILL loses nothing Temporal had committed), the machine's
 * Postgres behind a TCP proxy that can cut every connection and refuse new ones (the
 * machine's cluster itself is shared and never stopped), an SMTP server that can answer 451
 * or hang, and a webhook receiver that records every delivery.
 */
export interface Topology {
  readonly adminKey: string;
  readonly apis: Service[];
  readonly workers: Service[];
  readonly mail: MailCatcher;
  readonly hooks: ReceivedHook[];
  /** Per recipient: whether every link mailed to it opened (inspect answered 200) the moment it arrived. */
  readonly links: Map<string, LinkCheck>;
  /** Link checks still trying (each gives up after 30 s): a scenario is judged after they end. */
  readonly linkChecks: Set<Promise<void>>;
  /** Processes (API, worker) that exited without being killed or stopped, with their last output. */
  readonly crashes: string[];
  /** Per recipient: mails the SMTP server stored (all of them: its inbox keeps only the newest 500). */
  readonly mailsTo: Map<string, number>;
  /** A direct connection to the database (not through the proxy), for the checks. */
  readonly sql: postgres.Sql;
  readonly temporal: () => Promise<Client>;
  readonly env: Record<string, string>;
  smtp: 'ok' | '451' | 'hang';
  cutDatabase(): void;
  restoreDatabase(): void;
  killTemporal(): void;
  startTemporal(): Promise<void>;
  startApi(): Promise<Service>;
  startWorker(extraEnv?: Record<string, string>): Promise<Service>;
  close(): Promise<void>;
}

/** What trying a mailed link found: the last status the API gave, and when the mail came and the check ended. */
export interface LinkCheck {
  ok: boolean;
  /** 0: no API answered (down or unreachable) on any try; -1: not tried yet. */
  status: number;
  /** The answer's problem type, when it was not 200. */
  problem?: string | undefined;
  mailedAt: number;
  checkedAt: number;
}

export interface Service {
  readonly name: string;
  readonly child: ChildProcess;
  readonly url: string;
  output(): string;
  exited: Promise<number | null>;
  kill(signal?: NodeJS.Signals): void;
}

export interface ReceivedHook {
  id: string;
  type: string;
  userId: string;
  sequence: number;
  at: number;
}

const ADMIN_URL = process.env.TEST_PG_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

export async function startTopology(options: { ttl: string; log?: (line: string) => void }): Promise<Topology> {
  const log = options.log ?? (() => {});
  const dir = mkdtempSync(path.join(tmpdir(), 'invitation-faults-'));
  const dbName = `invitation_faults_${process.pid}_${randomBytes(3).toString('hex')}`;
  const admin = postgres(ADMIN_URL, { max: 1, onnotice: () => {} });
  await admin.unsafe(`create database ${dbName}`);
  const directUrl = Object.assign(new URL(ADMIN_URL), { pathname: `/${dbName}` }).toString();
  const sql = postgres(directUrl, { max: 4, onnotice: () => {} });

  const proxy = await startTcpProxy(5432);
  const databaseUrl = Object.assign(new URL(directUrl), { port: String(proxy.port) }).toString();

  const temporalPort = await freePort();
  const temporalDb = path.join(dir, 'temporal.db');
  let temporalChild: ChildProcess | undefined;

  // Built once, as `npm run start:worker` does, so a restarted worker is polling in seconds.
  const bundlePath = path.join(dir, 'workflows.js');
  writeFileSync(bundlePath, (await bundleInvitationWorkflows()).code);

  const payloadKeys = `faults:${randomBytes(32).toString('hex')}`;
  const adminKey = randomBytes(24).toString('base64url');
  const hooks: ReceivedHook[] = [];
  const receiver: HttpServer = createHttpServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => {
      try {
        const event = JSON.parse(body) as { type: string; data: { userId: string; sequence: number } };
        hooks.push({ id: String(req.headers['webhook-id']), type: event.type, userId: event.data.userId, sequence: event.data.sequence, at: Date.now() });
      } catch {
        // not an event: counted nowhere
      }
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));

  const topology: Topology = {
    adminKey,
    apis: [],
    workers: [],
    mail: undefined as unknown as MailCatcher,
    hooks,
    links: new Map(),
    crashes: [],
    linkChecks: new Set(),
    mailsTo: new Map(),
    sql,
    env: {},
    smtp: 'ok',
    cutDatabase: () => proxy.cut(),
    restoreDatabase: () => proxy.restore(),
    killTemporal: () => temporalChild?.kill('SIGKILL'),
    startTemporal,
    startApi,
    startWorker,
    temporal: async () => {
      const connection = await Connection.connect({ address: `127.0.0.1:${temporalPort}` });
      return new Client({ connection, dataConverter: dataConverterFor(new PayloadEncryptionCodec(parsePayloadKeys(payloadKeys))) });
    },
    close,
  };
  const mail = await startMailCatcher({
    smtpPort: 0,
    httpPort: null,
    reply: () => (topology.smtp === '451' ? { code: 451, message: '4.3.0 try again later (fault suite)' } : undefined),
    hang: () => topology.smtp === 'hang',
    // Each link is tried as it arrives, as an invitee would: 200 while it lives. An API that is
    // down at that moment (a scenario killed it) is asked again for up to 30 s.
    onMail: (mail) => {
      for (const to of mail.to) topology.mailsTo.set(to, (topology.mailsTo.get(to) ?? 0) + 1);
      const check = checkLink(mail.to[0] ?? '', /#token=([A-Za-z0-9_-]+)/.exec(mail.text)?.[1]);
      topology.linkChecks.add(check);
      void check.finally(() => topology.linkChecks.delete(check));
    },
  });
  (topology as { mail: MailCatcher }).mail = mail;

  Object.assign(topology.env, {
    DATABASE_URL: databaseUrl,
    TEMPORAL_ADDRESS: `127.0.0.1:${temporalPort}`,
    TEMPORAL_TASK_QUEUE: 'faults',
    TEMPORAL_PAYLOAD_KEYS: payloadKeys,
    EMAIL_ENCRYPTION_KEY: randomBytes(32).toString('hex'),
    SMTP_URL: mail.smtpUrl,
    ADMIN_API_KEY: adminKey,
    INVITATION_TTL: options.ttl,
    INVITATION_REMINDER: 'off',
    WEBHOOK_ALLOW_PRIVATE: 'true',
    WEBHOOK_RETRY_INITIAL_INTERVAL: '1s',
    WEBHOOK_RETRY_MAX_INTERVAL: '2s',
    RATE_LIMIT_PER_MINUTE: '100000',
    INVITE_MAX_IN_FLIGHT: '200',
    // A hung server fails an attempt in seconds, not the production 30 s: scenarios are short.
    SMTP_CONNECTION_TIMEOUT: '3s',
    SMTP_GREETING_TIMEOUT: '3s',
    SMTP_SOCKET_TIMEOUT: '5s',
    WORKER_SHUTDOWN_GRACE_TIME: '3s',
    WORKER_WORKFLOW_BUNDLE: bundlePath,
    WORKER_STICKY_QUEUE_TIMEOUT: '2s',
    LOG_LEVEL: 'warn',
    NODE_ENV: 'production',
  });

  await startTemporal();
  const firstApi = await startApi(); // migrates the database before any worker reads it
  const hook = await fetch(`${firstApi.url}/api/v1/webhooks`, {
    method: 'POST',
    headers: { authorization: `Bearer ${adminKey}`, 'content-type': 'application/json' },
    body: JSON.stringify({ url: `http://127.0.0.1:${(receiver.address() as { port: number }).port}/hooks`, events: ['user.invited', 'invitation.expired', 'user.deactivated'] }),
  });
  if (hook.status !== 201) throw new Error(`registering the webhook receiver: ${hook.status} ${await hook.text()}`);
  await startWorker();
  return topology;

  async function checkLink(address: string, token: string | undefined): Promise<void> {
    const mailedAt = Date.now();
    let check: LinkCheck = { ok: false, status: token ? -1 : 0, mailedAt, checkedAt: mailedAt };
    const earlier = topology.links.get(address);
    // Visible while it is being tried: a check still running when the scenario is judged says so.
    const record = () => topology.links.set(address, earlier && !earlier.ok ? earlier : check);
    record();
    for (let tries = 0; token && tries < 60 && !check.ok; tries++) {
      const api = topology.apis[tries % Math.max(1, topology.apis.length)];
      const answer = api
        ? await fetch(`${api.url}/api/v1/public/invitations/inspect`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token }) }).then(
            async (r) => ({ status: r.status, problem: r.status === 200 ? undefined : ((await r.json().catch(() => ({}))) as { type?: string }).type }),
            () => ({ status: 0, problem: undefined }),
          )
        : { status: 0, problem: undefined };
      check = { ok: answer.status === 200, status: answer.status, problem: answer.problem, mailedAt, checkedAt: Date.now() };
      record();
      if (answer.status !== 0 && answer.status < 500 && !check.ok) break; // an answer: the link does not open
      if (!check.ok) await new Promise((r) => setTimeout(r, 500));
    }
    // A second mail to the address counts only if every one of them opens.
    record();
  }

  async function startTemporal(): Promise<void> {
    const args = devServerArgs({ port: temporalPort, uiPort: 0, namespace: 'default', headless: true, dbFile: temporalDb });
    const child = spawn(findTemporalCli(), args, { stdio: ['ignore', 'ignore', 'pipe'] });
    child.stderr!.on('data', (d: Buffer) => log(`[temporal] ${d.toString().trim()}`));
    temporalChild = child;
    const deadline = Date.now() + 60_000;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`the Temporal dev server exited (${child.exitCode})`);
      try {
        const connection = await Connection.connect({ address: `127.0.0.1:${temporalPort}`, connectTimeout: 1000 });
        await connection.workflowService.getSystemInfo({});
        await connection.close();
        return;
      } catch (error) {
        if (Date.now() > deadline) throw new Error('the Temporal dev server did not come up in 60 s', { cause: error });
        await new Promise((r) => setTimeout(r, 200));
      }
    }
  }

  async function startApi(): Promise<Service> {
    const port = await freePort();
    const service = run(`api${topology.apis.length + 1}`, 'src/api/server.ts', { PORT: String(port) }, `http://127.0.0.1:${port}`);
    const deadline = Date.now() + 90_000;
    while ((await fetch(`${service.url}/readyz`).catch(() => undefined))?.status !== 200) {
      if (service.child.exitCode !== null || Date.now() > deadline) throw new Error(`${service.name} did not become ready:\n${service.output()}`);
      await new Promise((r) => setTimeout(r, 200));
    }
    topology.apis.push(service);
    return service;
  }

  async function startWorker(extraEnv: Record<string, string> = {}): Promise<Service> {
    // A worker given its own EMAIL_ENCRYPTION_KEY (the wrong-key scenario) is expected to refuse and exit.
    const service = run(`worker${topology.workers.length + 1}`, 'worker.ts', extraEnv, '', Boolean(extraEnv.EMAIL_ENCRYPTION_KEY));
    if (extraEnv.EMAIL_ENCRYPTION_KEY) return service; // the wrong-key scenario watches it refuse
    const client = await topology.temporal();
    try {
      const deadline = Date.now() + 90_000;
      for (;;) {
        const { pollers } = await client.connection.workflowService.describeTaskQueue({ namespace: 'default', taskQueue: { name: 'faults' }, taskQueueType: 1 });
        if ((pollers ?? []).some((p) => p.identity?.startsWith(`${service.child.pid}@`))) break;
        if (service.child.exitCode !== null || Date.now() > deadline) throw new Error(`${service.name} did not start polling:\n${service.output()}`);
        await new Promise((r) => setTimeout(r, 250));
      }
    } finally {
      await client.connection.close();
    }
    topology.workers.push(service);
    return service;
  }

  function run(name: string, entry: string, extraEnv: Record<string, string>, url: string, expectsExit = false): Service {
    const child = spawn(process.execPath, ['--import', 'tsx', entry], { env: { ...process.env, ...topology.env, ...extraEnv }, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    const collect = (d: Buffer) => {
      output = (output + d.toString()).slice(-20_000);
      log(`[${name}] ${d.toString().trim()}`);
    };
    child.stdout!.on('data', collect);
    child.stderr!.on('data', collect);
    let killed = false;
    const exited = new Promise<number | null>((resolve) =>
      child.once('exit', (code, signal) => {
        // A process no scenario killed and the suite did not stop died by itself: that is a finding.
        if (!killed && !expectsExit) {
          const last = output.trim().split('\n').slice(-8).join('\n');
          topology.crashes.push(`${name} exited by itself (${signal ?? `code ${code}`}): ${last}`);
          log(`${name} exited by itself (${signal ?? `code ${code}`})\n${last}`);
        }
        resolve(code);
      }),
    );
    return {
      name,
      child,
      url,
      output: () => output,
      exited,
      kill: (signal = 'SIGKILL') => {
        killed = true;
        child.kill(signal);
      },
    };
  }

  async function close(): Promise<void> {
    for (const service of [...topology.apis, ...topology.workers]) if (service.child.exitCode === null) service.kill('SIGKILL');
    temporalChild?.kill('SIGKILL');
    proxy.close();
    receiver.close();
    await mail.close();
    await sql.end();
    await admin.unsafe(`drop database if exists ${dbName} with (force)`).catch(() => undefined);
    await admin.end();
    rmSync(dir, { recursive: true, force: true });
  }
}
