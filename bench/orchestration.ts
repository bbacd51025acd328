/**
 * The references every invite figure is read against, measured in the same run on the
 * same server (issue: "a ratio against a reference in the same run"):
 * - the ceiling: a workflow of the invitation's shape whose steps cost nothing, started the
 *   way the API starts invitations (a start with the same three search attributes), with
 *   local, mixed (the service's: local database steps, a regular SMTP step) and regular
 *   activities, sealed by the same payload codec; done when its third step ran;
 * - the floor: the same work without orchestration (insert the user and its invitation,
 *   render the React Email mail, hand it to SMTP).
 */
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { randomUUID } from 'node:crypto';
import type { Client } from '@temporalio/client';
import type { PayloadCodec } from '@temporalio/common';
import { bundleWorkflowCode, NativeConnection, Worker } from '@temporalio/worker';
import type { Database } from '../src/db/database.js';
import { registerInvitedUser } from '../src/invitations/registration.js';
import { mintLink, renderLinkMail } from '../src/links/link-mail.js';
import type { Mailer } from '../src/mail/mailer.js';
import { dataConverterFor, failureConverterPath } from '../src/temporal/payload-codec.js';
import { pool } from './lib.js';
import type { ReferenceActivities } from './workflows/reference.js';
import { searchAttributes } from '../src/workflows/invitation.messages.js';

export interface Rate {
  count: number;
  seconds: number;
  perSecond: number;
}

const rate = (count: number, ms: number): Rate => ({
  count,
  seconds: Math.round(ms) / 1000,
  perSecond: ms > 0 ? Math.round((count / (ms / 1000)) * 10) / 10 : 0,
});

export async function measureReferences(options: {
  temporal: Client;
  temporalAddress: string;
  namespace: string;
  payloadCodec: PayloadCodec;
  db: Database;
  mailer: Mailer;
  config: { PUBLIC_BASE_URL: string; PLATFORM_TIMEZONE: string; PRODUCT_NAME: string; MAIL_FROM: string };
  count: number;
  concurrency: number;
  tag: string;
  log: (line: string) => void;
}): Promise<{ ceilingLocal: Rate; ceilingMixed: Rate; ceilingRegular: Rate; floor: Rate }> {
  const quiet = () => {};
  const bundle = await bundleWorkflowCode({
    workflowsPath: fileURLToPath(new URL('./workflows/reference.ts', import.meta.url)),
    failureConverterPath,
    logger: { log: quiet, trace: quiet, debug: quiet, info: quiet, warn: quiet, error: options.log },
  });
  const connection = await NativeConnection.connect({ address: options.temporalAddress });
  try {
    const ceiling = async (workflowType: 'referenceInvitationLocal' | 'referenceInvitationMixed' | 'referenceInvitationRegular') => {
      const taskQueue = `reference-${options.tag}-${workflowType}`;
      let delivered = 0;
      let allDelivered: () => void = () => {};
      const done = new Promise<void>((resolve) => (allDelivered = resolve));
      const activities: ReferenceActivities = {
        register: async (input) => input,
        prepare: async () => ({ emailId: 'none' }),
        deliver: async () => {
          if (++delivered === options.count) allDelivered();
          return 'sent';
        },
      };
      const worker = await Worker.create({
        connection,
        namespace: options.namespace,
        taskQueue,
        activities,
        workflowBundle: { code: bundle.code },
        dataConverter: dataConverterFor(options.payloadCodec),
      });
      const running = worker.run();
      const started = performance.now();
      await pool(options.count, options.concurrency, async (i) => {
        await options.temporal.workflow.start(workflowType, {
          workflowId: `${taskQueue}-${i}`,
          taskQueue,
          args: [{ id: String(i) }],
          workflowIdConflictPolicy: 'FAIL',
          typedSearchAttributes: [
            { key: searchAttributes.userId, value: `${taskQueue}-${i}` },
            { key: searchAttributes.username, value: `reference-${i}` },
            { key: searchAttributes.invitationStatus, value: 'pending' },
          ],
        });
      });
      await done;
      const elapsed = performance.now() - started;
      worker.shutdown();
      await running;
      return rate(options.count, elapsed);
    };

    options.log(`ceiling: ${options.count} no-op workflows of the invitation's shape, local activities`);
    const ceilingLocal = await ceiling('referenceInvitationLocal');
    options.log(`ceiling: the same, local database steps and a regular SMTP step (the service's mix)`);
    const ceilingMixed = await ceiling('referenceInvitationMixed');
    options.log(`ceiling: the same with regular activities`);
    const ceilingRegular = await ceiling('referenceInvitationRegular');

    options.log(`floor: ${options.count} invitations without orchestration (insert, render, SMTP)`);
    const started = performance.now();
    await pool(options.count, options.concurrency, async (i) => {
      const username = `f${options.tag}-${i}`;
      const email = `floor-${options.tag}-${i}@example.com`;
      const userId = randomUUID();
      const expiresAt = new Date(Date.now() + 28 * 86_400_000).toISOString();
      // The service's own registration (user, invitation and audit row in one transaction).
      await registerInvitedUser(options.db, {
        userId,
        invitationId: randomUUID(),
        username,
        email,
        userType: 'member',
        isStaff: false,
        permissions: [],
        locale: 'en',
        invitedBy: 'bench',
        ttlMs: 28 * 86_400_000,
        expiresAt,
      });
      const { link } = mintLink(options.config.PUBLIC_BASE_URL, 'invitation', 'en');
      const { rendered } = await renderLinkMail(options.db, options.config, 'user_invitation', { locale: 'en', username, link, expiresAt });
      await options.mailer.send({ from: options.config.MAIL_FROM, to: email, ...rendered, messageId: `<${userId}@floor.invalid>` });
    });
    const floor = rate(options.count, performance.now() - started);
    return { ceilingLocal, ceilingMixed, ceilingRegular, floor };
  } finally {
    await connection.close();
  }
}
