import { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { createActivities } from '../src/activities/index.js';
import type { AppDeps } from '../src/deps.js';
import { startMailCatcher, type MailCatcher } from '../src/dev/mail-catcher.js';
import { acceptInvitation } from '../src/invitations/invitation.service.js';
import { createLogger } from '../src/log.js';
import { createSmtpMailer, type Mailer } from '../src/mail/mailer.js';
import { createSecretBox } from '../src/mail/secret-box.js';
import { invitationWorkflowId, stateQuery, type InvitationWorkflowInput } from '../src/workflows/messages.js';
import type { invitationWorkflow } from '../src/workflows/invitation.js';
import { cloneDatabase, linkFrom, quietTemporalRuntime, testConfig } from './support/harness.js';

/**
 * The 28-day lifetime, on Temporal's time-skipping test server: the real INVITATION_TTL,
 * not a shortened one, with real activities against Postgres and SMTP.
 */
let env: TestWorkflowEnvironment;
let database: Awaited<ReturnType<typeof cloneDatabase>>;
let mail: MailCatcher;
let mailer: Mailer;
let worker: Worker;
let running: Promise<void>;
let deps: AppDeps;
const config = testConfig();
const DAY = 86_400_000;

beforeAll(async () => {
  quietTemporalRuntime();
  env = await TestWorkflowEnvironment.createTimeSkipping({
    server: { executable: { type: 'existing-path', path: inject('testServerPath') } },
  });
  database = await cloneDatabase();
  mail = await startMailCatcher({ smtpPort: 0, httpPort: null });
  mailer = createSmtpMailer(mail.smtpUrl);
  worker = await Worker.create({
    connection: env.nativeConnection,
    taskQueue: config.TEMPORAL_TASK_QUEUE,
    workflowBundle: { codePath: inject('workflowBundlePath') },
    activities: createActivities({
      db: database.handle.db,
      mailer,
      secretBox: createSecretBox(Buffer.from(config.EMAIL_ENCRYPTION_KEY!, 'hex')),
      config,
    }),
  });
  running = worker.run();
  deps = { db: database.handle.db, temporal: env.client, config, log: createLogger('silent'), adminKeys: [] };
});

afterAll(async () => {
  worker?.shutdown();
  await running;
  mailer?.close();
  await mail?.close();
  await database?.drop();
  await env?.teardown();
});

async function startInvitation(username: string) {
  const input: InvitationWorkflowInput = {
    userId: randomUUID(),
    invitationId: randomUUID(),
    username,
    email: `${username}@example.com`,
    userType: 'member',
    isStaff: false,
    permissions: [],
    locale: 'en',
    invitedBy: 'staff:test',
    ttlMs: config.INVITATION_TTL,
    indexed: false, // the time-skipping server has no custom search attributes
  };
  const handle = await env.client.workflow.start<typeof invitationWorkflow>('invitationWorkflow', {
    workflowId: invitationWorkflowId(input.userId),
    taskQueue: config.TEMPORAL_TASK_QUEUE,
    args: [input],
  });
  const caught = await mail.waitFor((m) => m.to.includes(input.email), 15_000);
  return { input, handle, link: linkFrom(caught.text) };
}

const userRow = (id: string) => database.handle.db.selectFrom('users').selectAll().where('id', '=', id).executeTakeFirstOrThrow();

describe('an invitation not accepted within its lifetime', () => {
  it('uses 28 days by default', () => {
    expect(config.INVITATION_TTL).toBe(28 * DAY);
  });

  it('leaves the user invited until the last minute, then inactive at 28 days', async () => {
    const { input, handle, link } = await startInvitation('late.larry');
    await env.sleep(28 * DAY - 60_000);
    const before = await handle.query(stateQuery);
    expect(before.phase).toBe('waiting');
    expect((await userRow(input.userId)).status).toBe('invited');

    const final = await handle.result(); // the test server skips the last minute
    expect(final.outcome).toBe('expired');
    const user = await userRow(input.userId);
    expect(user.status).toBe('inactive');
    expect(user.deactivation_reason).toBe('invitation_expired');
    expect(user.deactivated_at).not.toBeNull();
    const invitation = await database.handle.db.selectFrom('invitations').selectAll().where('id', '=', input.invitationId).executeTakeFirstOrThrow();
    expect(invitation.status).toBe('expired');
    // The deadline the workflow kept is exactly the configured lifetime after its start.
    expect(Date.parse(final.expiresAt) - Date.parse(invitation.created_at.toISOString())).toBeGreaterThan(28 * DAY - 5 * 60_000);

    // The link is dead afterwards.
    await expect(acceptInvitation(deps, link.token, 'a perfectly fine passphrase')).rejects.toMatchObject({ type: 'LinkInvalidOrExpired' });
  });

  it('an accept one minute before the deadline wins, and nothing deactivates the user later', async () => {
    const { input, handle, link } = await startInvitation('just.in.time');
    await env.sleep(28 * DAY - 60_000);
    const user = await acceptInvitation(deps, link.token, 'a perfectly fine passphrase');
    expect(user.status).toBe('active');

    const final = await handle.result();
    expect(final.outcome).toBe('accepted');
    await env.sleep(30 * DAY);
    expect((await userRow(input.userId)).status).toBe('active');
  });

  it('an accept whose signal never arrived still wins when the timer fires (the database decides)', async () => {
    const { input, handle, link } = await startInvitation('lost.signal');
    // Accept with a client that cannot reach Temporal: the row commits, the signal is lost.
    const offline = { ...deps, temporal: { workflow: { getHandle: () => ({ signal: async () => Promise.reject(new Error('unavailable')) }) } } } as unknown as AppDeps;
    await acceptInvitation(offline, link.token, 'a perfectly fine passphrase');
    expect((await handle.query(stateQuery)).phase).toBe('waiting');

    const final = await handle.result();
    expect(final.outcome).toBe('accepted');
    expect((await userRow(input.userId)).status).toBe('active');
  });
});
