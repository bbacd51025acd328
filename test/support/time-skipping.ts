import { randomUUID } from 'node:crypto';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { inject } from 'vitest';
import type { createActivities } from '../../src/activities/index.js';
import type { AppDeps } from '../../src/deps.js';
import { startMailCatcher, type MailCatcher } from '../../src/dev/mail-catcher.js';
import { createLogger } from '../../src/log.js';
import { createSmtpMailer } from '../../src/mail/mailer.js';
import { createSecretBox } from '../../src/mail/secret-box.js';
import { loadPayloadCodec } from '../../src/runtime.js';
import { dataConverterFor } from '../../src/temporal/payload-codec.js';
import { createInvitationWorker } from '../../src/temporal/worker.js';
import type { invitationWorkflow } from '../../src/workflows/invitation.js';
import { invitationWorkflowId, type InvitationWorkflowInput } from '../../src/workflows/invitation.messages.js';
import { cloneDatabase, linkFrom, quietTemporalRuntime, testConfig } from './harness.js';

/**
 * The service's workflows and real activities (Postgres, SMTP) on Temporal's time-skipping
 * test server: `env.sleep('28 days')` passes in milliseconds, timers fire as in production.
 */
export async function startTimeSkippingService(options: { wrapActivities?: (activities: ReturnType<typeof createActivities>) => object } = {}) {
  quietTemporalRuntime();
  const config = testConfig();
  const payloadCodec = loadPayloadCodec(config);
  const dataConverter = dataConverterFor(payloadCodec);
  const env = await TestWorkflowEnvironment.createTimeSkipping({
    server: { executable: { type: 'existing-path', path: inject('testServerPath') } },
    client: { dataConverter },
  });
  const database = await cloneDatabase();
  const mail: MailCatcher = await startMailCatcher({ smtpPort: 0, httpPort: null });
  const mailer = createSmtpMailer(mail.smtpUrl);
  // The processes' own worker: its mail and webhook queues too (task-queues.ts).
  const worker = await createInvitationWorker({
    connection: env.nativeConnection,
    namespace: env.namespace ?? 'default',
    taskQueue: config.TEMPORAL_TASK_QUEUE,
    payloadCodec,
    workflowBundle: { codePath: inject('workflowBundlePath') },
    deps: { db: database.handle.db, mailer, secretBox: createSecretBox(Buffer.from(config.EMAIL_ENCRYPTION_KEY!, 'hex')), config },
    ...(options.wrapActivities ? { wrapActivities: options.wrapActivities } : {}),
  });
  const running = worker.run();
  const deps: AppDeps = { db: database.handle.db, temporal: env.client, config, log: createLogger('silent'), adminKeys: [] };
  const db = database.handle.db;

  return {
    env,
    config,
    deps,
    db,
    mail,
    userRow: (id: string) => db.selectFrom('users').selectAll().where('id', '=', id).executeTakeFirstOrThrow(),
    /** Starts an invitation workflow as the API would. */
    async start(username: string, options: { ttlMs?: number; reminderMs?: number | null } = {}) {
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
        ttlMs: options.ttlMs ?? config.INVITATION_TTL,
        reminderMs: options.reminderMs === undefined ? config.INVITATION_REMINDER : options.reminderMs,
        indexed: false, // the time-skipping server has no custom search attributes
      };
      const handle = await env.client.workflow.start<typeof invitationWorkflow>('invitationWorkflow', {
        workflowId: invitationWorkflowId(input.userId),
        taskQueue: config.TEMPORAL_TASK_QUEUE,
        args: [input],
      });
      return { input, handle };
    },
    /** Starts an invitation workflow as the API would, and returns the mailed link. */
    async invite(username: string, options: { ttlMs?: number; reminderMs?: number | null } = {}) {
      const { input, handle } = await this.start(username, options);
      const caught = await mail.waitFor((m) => m.to.includes(input.email), 15_000);
      return { input, handle, link: linkFrom(caught.text) };
    },
    async close() {
      worker.shutdown();
      await running;
      mailer.close();
      await mail.close();
      await database.drop();
      await env.teardown();
    },
  };
}
export type TimeSkippingService = Awaited<ReturnType<typeof startTimeSkippingService>>;
