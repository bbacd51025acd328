import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it, inject } from 'vitest';
import { startMailCatcher, type MailCatcher } from '../src/dev/mail-catcher.js';
import { hashToken } from '../src/links/tokens.js';
import { dataConverterFor, PayloadEncryptionCodec, parsePayloadKeys } from '../src/temporal/payload-codec.js';
import type { invitationWorkflow } from '../src/workflows/invitation.js';
import { invitationWorkflowId, searchAttributes, type InvitationWorkflowInput } from '../src/workflows/invitation.messages.js';
import { cloneDatabase, eventually, linkFrom } from './support/harness.js';

/**
 * The invitation's database steps are local activities: they run inside the worker's workflow
 * task and are recorded only when that task completes. A worker that dies in the middle of
 * the task leaves no record of them, so the next worker runs them again. Here the worker is
 * killed (SIGKILL) after the first step committed the user and while the second step is
 * inside its transaction; a second worker takes the task over. The API is assumed dead too,
 * right after starting the workflow: the workflow has to register the user itself.
 */
let database: Awaited<ReturnType<typeof cloneDatabase>>;
let mail: MailCatcher;
let client: Client;
const children: ChildProcess[] = [];
const keys = `retry:${randomBytes(32).toString('hex')}`;
let env: Record<string, string>;

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
  mail = await startMailCatcher({ smtpPort: 0, httpPort: null });
  env = {
    DATABASE_URL: database.url,
    TEMPORAL_ADDRESS: inject('temporalAddress'),
    TEMPORAL_TASK_QUEUE: `task-retry-${randomBytes(4).toString('hex')}`,
    SMTP_URL: mail.smtpUrl,
    EMAIL_ENCRYPTION_KEY: randomBytes(32).toString('hex'),
    TEMPORAL_PAYLOAD_KEYS: keys,
    PUBLIC_BASE_URL: 'https://invite.example.test',
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

describe('a workflow task retried after its worker died', () => {
  it('runs the local steps again without a second user, workflow, mail or link', async () => {
    const db = database.handle.db;
    // The mail step's insert into the email log stalls while this flag row exists.
    await sql`CREATE TABLE stall (on_ boolean)`.execute(db);
    await sql`INSERT INTO stall VALUES (true)`.execute(db);
    await sql`CREATE FUNCTION stall_email() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN WHILE EXISTS (SELECT 1 FROM stall) LOOP PERFORM pg_sleep(0.05); END LOOP; RETURN NEW; END $$`.execute(db);
    await sql`CREATE TRIGGER stall_email BEFORE INSERT ON emails FOR EACH ROW EXECUTE FUNCTION stall_email()`.execute(db);

    const first = startWorker();
    const userId = randomUUID();
    const input: InvitationWorkflowInput = {
      userId,
      invitationId: randomUUID(),
      username: 'task.retry',
      email: 'task.retry@example.com',
      userType: 'member',
      isStaff: false,
      permissions: [],
      locale: 'en',
      invitedBy: 'staff:test',
      ttlMs: 28 * 86_400_000,
      expiresAt: new Date(Date.now() + 28 * 86_400_000).toISOString(),
      reminderMs: null,
    };
    // As the API starts it; the API then "dies" before registering the user.
    const workflow = await client.workflow.start<typeof invitationWorkflow>('invitationWorkflow', {
      workflowId: invitationWorkflowId(userId),
      taskQueue: env.TEMPORAL_TASK_QUEUE!,
      args: [input],
      typedSearchAttributes: [
        { key: searchAttributes.userId, value: userId },
        { key: searchAttributes.username, value: input.username },
        { key: searchAttributes.invitationStatus, value: 'pending' },
      ],
    });

    // The first step committed the user; the second is inside its transaction.
    const stalled = await eventually(
      async () => {
        const { rows } = await sql<{ pid: number }>`SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND query ILIKE 'insert into "emails"%' AND state = 'active'`.execute(db);
        return rows[0];
      },
      120_000,
      'the mail step to reach the email log',
    ).catch((error: Error) => {
      throw new Error(`${error.message}\nworker output:\n${first.output()}`);
    });
    expect(await db.selectFrom('users').select('id').where('id', '=', userId).execute()).toHaveLength(1);

    first.child.kill('SIGKILL');
    await first.exited;
    // The dead worker's transaction goes with its connection; the stall goes with the test.
    await sql`SELECT pg_terminate_backend(${stalled.pid})`.execute(db);
    await sql`DROP TRIGGER stall_email ON emails`.execute(db);
    expect(await db.selectFrom('emails').select('id').where('user_id', '=', userId).execute()).toHaveLength(0);

    const second = startWorker();
    const caught = await mail.waitFor((m) => m.to.includes('task.retry@example.com'), 120_000).catch((error: Error) => {
      throw new Error(`${error.message}\nworker output:\n${second.output()}`);
    });

    // The task really was retried: the dead worker's attempt timed out, and no step of it was recorded.
    const history = await workflow.fetchHistory();
    const events = history.events ?? [];
    expect(events.some((e) => e.workflowTaskTimedOutEventAttributes)).toBe(true);
    const markers = events.filter((e) => e.markerRecordedEventAttributes?.markerName === 'core_local_activity');
    expect(markers).toHaveLength(2); // register and prepare, each recorded once, by the second worker

    expect(await db.selectFrom('users').select('id').where('username_key', '=', 'task.retry').execute()).toEqual([{ id: userId }]);
    expect(await db.selectFrom('invitations').select('id').where('user_id', '=', userId).execute()).toEqual([{ id: input.invitationId }]);
    expect(await db.selectFrom('audit_events').select('id').where('user_id', '=', userId).where('action', '=', 'user.invited').execute()).toHaveLength(1);
    const emails = await db.selectFrom('emails').selectAll().where('user_id', '=', userId).execute();
    expect(emails).toHaveLength(1);
    // The link in the one mail is the one the invitation knows: no second link was minted.
    const invitation = await db.selectFrom('invitations').selectAll().where('id', '=', input.invitationId).executeTakeFirstOrThrow();
    expect(invitation.token_hash).toBe(hashToken('invitation', linkFrom(caught.text).token));
    await eventually(async () => (await db.selectFrom('emails').select('status').where('user_id', '=', userId).executeTakeFirst())?.status === 'sent', 30_000, 'the log to say sent');
    expect(mail.messages().filter((m) => m.to.includes('task.retry@example.com'))).toHaveLength(1);

    second.child.kill('SIGTERM');
    await second.exited;
  }, 300_000);
});
