import { Context } from '@temporalio/activity';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { createActivities } from '../src/activities/index.js';
import { insertBatch } from '../src/bulk/bulk.repository.js';
import { bulkInvitationWorkflowId } from '../src/workflows/bulk-invitation.messages.js';
import { eventually, startHarness, type Harness } from './support/harness.js';

/**
 * The pace of a bulk invitation (BULK_INVITES_PER_SECOND) and what a crashed step does.
 * At 2 a second the workflow invites one row per 500 ms tick, and a tick begins only after
 * the previous one's step ended, so rows i < j started at least (j - i - 1) × 500 ms apart,
 * however slow or fast the machine: the check has no upper bound to be fragile about.
 */
let h: Harness;
beforeAll(async () => {
  h = await startHarness({ config: { BULK_INVITES_PER_SECOND: '2' } });
});
afterAll(async () => h?.close());

const submit = (prefix: string, n: number) =>
  h.api('POST', '/api/v1/invitations/bulk', { rows: Array.from({ length: n }, (_, i) => ({ username: `${prefix}${i}`, email: `${prefix}${i}@example.com`, userType: 'member' })) });
const finished = (id: string, timeoutMs = 120_000) =>
  eventually(async () => {
    const res = await h.api('GET', `/api/v1/invitations/bulk/${id}`);
    return res.body.status === 'completed' && res.body;
  }, timeoutMs, `batch ${id} to complete`);

async function invitationStarts(userIds: string[]): Promise<number[]> {
  return Promise.all(userIds.map(async (id) => (await h.client.workflow.getHandle(`invitation-${id}`).describe()).startTime.getTime()));
}

describe('BULK_INVITES_PER_SECOND', () => {
  it('spreads the invitations (and so the mails): never two rows faster than the rate allows', { timeout: 180_000 }, async () => {
    const res = await submit('pace', 10);
    expect(res.status).toBe(202);
    expect(res.body.perSecond).toBe(2);
    const done = await finished(res.body.id);
    expect(done.counts).toMatchObject({ created: 10, failed: 0 });
    const starts = await invitationStarts(done.rows.map((r: any) => r.userId));
    for (let i = 0; i < starts.length; i++) {
      for (let j = i + 1; j < starts.length; j++) {
        expect(starts[j]! - starts[i]!, `rows ${i + 1} and ${j + 1}`).toBeGreaterThanOrEqual((j - i - 1) * 500 - 20);
      }
    }
    expect(starts.at(-1)! - starts[0]!).toBeGreaterThanOrEqual(4_000);
    // Each row went through the normal path: its own workflow sent its one mail.
    await eventually(async () => {
      const mails = await h.db.selectFrom('emails').select('user_id').where('status', '=', 'sent').where('user_id', 'in', done.rows.map((r: any) => r.userId)).execute();
      return mails.length === 10;
    }, 60_000, 'ten invitation mails');
  });
});

describe('a step that crashes after inviting, before recording', () => {
  it('invites each row once on the retry, with its own user, and never answers a row with a 409 against itself', { timeout: 180_000 }, async () => {
    type Activities = ReturnType<typeof createActivities>;
    // The first attempt of every step does its work, then "loses" what it recorded (as if the
    // worker died between inviting and writing the row's result) and fails.
    let crashed = 0;
    let recovered = 0;
    await h.restartWorker((acts: Activities) => ({
      ...acts,
      async inviteBulkRows(input: { batchId: string; limit: number }) {
        const before = await h.db.selectFrom('bulk_rows').select('row_number').where('batch_id', '=', input.batchId).where('status', '=', 'pending').execute();
        const result = await acts.inviteBulkRows(input);
        if (Context.current().info.attempt > 1) {
          recovered++;
          return result;
        }
        crashed++;
        await h.db.transaction().execute(async (tx) => {
          await tx
            .updateTable('bulk_rows')
            .set({ status: 'pending', user_id: null, invitation_id: null, problem: null, finished_at: null })
            .where('batch_id', '=', input.batchId)
            .where('row_number', 'in', before.map((r) => r.row_number))
            .execute();
          await tx.updateTable('bulk_batches').set({ completed_at: null }).where('id', '=', input.batchId).execute();
        });
        throw new Error('worker died before the results were recorded');
      },
    }));
    try {
      const res = await submit('crash', 3);
      expect(res.status).toBe(202);
      // Done once the batch says so and every crashed step has had its successful retry.
      await eventually(async () => crashed > 0 && crashed === recovered && (await finished(res.body.id)), 120_000, 'every crashed step retried');
      const done = await finished(res.body.id);
      expect(done.rows.map((r: any) => [r.row, r.status, r.problem])).toEqual([
        [1, 'created', null],
        [2, 'created', null],
        [3, 'created', null],
      ]);
      const users = await h.db.selectFrom('users').select(['id', 'username']).where('username', 'like', 'crash%').orderBy('username').execute();
      expect(users.map((u) => u.username)).toEqual(['crash0', 'crash1', 'crash2']);
      expect(done.rows.map((r: any) => r.userId)).toEqual(users.map((u) => u.id));
      const invitations = await h.db.selectFrom('invitations').select('user_id').where('user_id', 'in', users.map((u) => u.id)).execute();
      expect(invitations).toHaveLength(3);
      await eventually(async () => {
        const mails = await h.db.selectFrom('emails').select('user_id').where('user_id', 'in', users.map((u) => u.id)).execute();
        return mails.length === 3;
      }, 60_000, 'three mails');
      expect(h.mail.messages().filter((m) => m.to.some((to) => to.startsWith('crash')))).toHaveLength(3);
    } finally {
      await h.restartWorker();
    }
  });
});

describe('a long batch', () => {
  it('continues as new every so many ticks and goes on where it was: the rows are the state', { timeout: 120_000 }, async () => {
    const batchId = crypto.randomUUID();
    const rows = Array.from({ length: 5 }, (_, i) => {
      const command = { username: `long${i}`, email: `long${i}@example.com`, userType: 'member' };
      return { row: i + 1, line: null, command, echo: { ...command, isStaff: false, permissions: [], locale: 'de' } };
    });
    await h.db.transaction().execute((tx) =>
      insertBatch(tx, { id: batchId, principal: 'test', idempotencyKey: null, fingerprint: 'f', workflowId: bulkInvitationWorkflowId(batchId), perSecond: 10, createdBy: null, rows }),
    );
    // 10 a second: two rows a tick, so five rows take three ticks, and a run lasts two.
    const handle = await h.client.workflow.start('bulkInvitationWorkflow', {
      workflowId: bulkInvitationWorkflowId(batchId),
      taskQueue: h.config.TEMPORAL_TASK_QUEUE,
      args: [{ batchId, perSecond: 10, ticksPerRun: 2 }],
    });
    await handle.result(); // follows the chain of runs to the last
    const firstRun = await h.client.workflow.getHandle(handle.workflowId, handle.firstExecutionRunId).fetchHistory();
    expect(firstRun.events?.at(-1)?.workflowExecutionContinuedAsNewEventAttributes).toBeTruthy();
    const done = await h.api('GET', `/api/v1/invitations/bulk/${batchId}`);
    expect(done.body).toMatchObject({ status: 'completed', counts: { total: 5, created: 5, failed: 0, pending: 0 } });
    expect(await h.db.selectFrom('users').select('id').where('username', 'like', 'long%').execute()).toHaveLength(5);
  });
});
