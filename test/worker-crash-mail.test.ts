import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it, inject } from 'vitest';
import { startMailCatcher, type MailCatcher } from '../src/dev/mail-catcher.js';
import { dataConverterFor, PayloadEncryptionCodec, parsePayloadKeys } from '../src/temporal/payload-codec.js';
import type { invitationWorkflow } from '../src/workflows/invitation.js';
import { invitationWorkflowId, type InvitationWorkflowInput } from '../src/workflows/invitation.messages.js';
import { cloneDatabase, eventually } from './support/harness.js';

/**
 * Issue 14.7: a worker killed (SIGKILL) while an invitation mail is in flight must not park
 * that mail until the SMTP activity's start-to-close timeout (2 minutes): the mail
 * activities heartbeat, so the server notices the dead worker within seconds and a new
 * worker sends the mail.
 */
let database: Awaited<ReturnType<typeof cloneDatabase>>;
let mail: MailCatcher;
let client: Client;
const children: ChildProcess[] = [];
const keys = `crash:${randomBytes(32).toString('hex')}`;
let env: Record<string, string>;
let slowFirstAnswer = true;

function startWorker() {
  const child = spawn(process.execPath, ['--import', 'tsx', 'worker.ts'], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (d) => (output += d));
  child.stderr!.on('data', (d) => (output += d));
  children.push(child);
  return { child, output: () => output, exited: new Promise<unknown>((resolve) => child.once('exit', resolve)) };
}

beforeAll(async () => {
  database = await cloneDatabase();
  // The first attempt's final answer never comes in time: the worker dies while it waits.
  mail = await startMailCatcher({
    smtpPort: 0,
    httpPort: null,
    answerDelayMs: () => {
      if (!slowFirstAnswer) return 0;
      slowFirstAnswer = false;
      return 80_000;
    },
  });
  env = {
    DATABASE_URL: database.url,
    TEMPORAL_ADDRESS: inject('temporalAddress'),
    TEMPORAL_TASK_QUEUE: `crash-mail-${randomBytes(4).toString('hex')}`,
    SMTP_URL: mail.smtpUrl,
    EMAIL_ENCRYPTION_KEY: randomBytes(32).toString('hex'),
    TEMPORAL_PAYLOAD_KEYS: keys,
    PUBLIC_BASE_URL: 'https://invite.example.test',
    WORKER_WORKFLOW_BUNDLE: inject('workflowBundlePath'),
    LOG_LEVEL: 'warn',
  };
  client = new Client({
    connection: await Connection.connect({ address: inject('temporalAddress') }),
    dataConverter: dataConverterFor(new PayloadEncryptionCodec(parsePayloadKeys(keys))),
  });
});
afterAll(async () => {
  for (const child of children) child.kill('SIGKILL');
  await client?.connection.close();
  await mail?.close();
  await database?.drop();
});

describe('a worker killed while an invitation mail is in flight', () => {
  it('the mail is retried by the next worker within seconds, not after the activity timeout', { timeout: 90_000 }, async () => {
    const db = database.handle.db;
    const first = startWorker();
    const userId = randomUUID();
    const input: InvitationWorkflowInput = {
      userId,
      invitationId: randomUUID(),
      username: 'parked.mail',
      email: 'parked.mail@example.com',
      userType: 'member',
      isStaff: false,
      permissions: [],
      locale: 'en',
      invitedBy: 'staff:test',
      ttlMs: 28 * 86_400_000,
      reminderMs: null,
      indexed: false,
    };
    await client.workflow.start<typeof invitationWorkflow>('invitationWorkflow', { workflowId: invitationWorkflowId(userId), taskQueue: env.TEMPORAL_TASK_QUEUE!, args: [input] });

    // The attempt is under way: logged, and the catcher holds its final answer back.
    await eventually(
      async () => {
        const email = await db.selectFrom('emails').select('attempts').where('user_id', '=', userId).executeTakeFirst();
        return (email?.attempts ?? 0) >= 1 && !slowFirstAnswer;
      },
      45_000,
      'the first SMTP attempt',
    ).catch((error: Error) => {
      throw new Error(`${error.message}\nworker output:\n${first.output()}`);
    });
    first.child.kill('SIGKILL');
    await first.exited;
    const killedAt = Date.now();

    const second = startWorker();
    await mail.waitFor((m) => m.to.includes('parked.mail@example.com'), 60_000).catch((error: Error) => {
      throw new Error(`${error.message}\nworker output:\n${second.output()}`);
    });
    // Heartbeat timeout (5 s) plus the first retry interval (10 s) and the new worker's start.
    expect(Date.now() - killedAt).toBeLessThan(40_000);
    // The log records the delivery right after the server's answer.
    const email = await eventually(async () => {
      const row = await db.selectFrom('emails').select(['status', 'attempts']).where('user_id', '=', userId).executeTakeFirstOrThrow();
      return row.status === 'sent' && row;
    }, 10_000, 'the email log to say sent');
    expect(email.attempts).toBe(2);
  });
});
