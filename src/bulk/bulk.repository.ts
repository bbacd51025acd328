import { sql } from 'kysely';
import type { Actor } from '../audit/actor.js';
import type { Queryable } from '../db/database.js';
import type { BulkBatchRow, BulkRowRow } from '../db/schema.js';
import type { CheckedRow, RowFailure } from './rows.js';

/**
 * Sent as text and cast in SQL: a parameter Postgres types as jsonb is JSON-encoded again by
 * postgres.js, which would store the document as one JSON string.
 */
const asJsonb = (value: RowFailure) => sql<string>`cast(cast(${JSON.stringify(value)} as text) as jsonb)`;

export interface NewBatch {
  id: string;
  principal: string;
  idempotencyKey: string | null;
  fingerprint: string;
  workflowId: string;
  perSecond: number;
  createdBy: Actor | null;
  rows: CheckedRow[];
}

/** Inserts the batch and its rows; undefined when a batch with this id exists already (a retried key). */
export async function insertBatch(tx: Queryable, batch: NewBatch): Promise<BulkBatchRow | undefined> {
  const pending = batch.rows.filter((r) => r.command).length;
  const inserted = await tx
    .insertInto('bulk_batches')
    .values({
      id: batch.id,
      principal: batch.principal,
      idempotency_key: batch.idempotencyKey,
      request_fingerprint: batch.fingerprint,
      workflow_id: batch.workflowId,
      total: batch.rows.length,
      per_second: batch.perSecond,
      created_by: batch.createdBy?.name ?? null,
      created_by_key: batch.createdBy?.key ?? null,
      // Nothing to invite: done at once, and no workflow is started.
      completed_at: pending === 0 ? new Date() : null,
    })
    .onConflict((oc) => oc.doNothing())
    .returningAll()
    .executeTakeFirst();
  if (!inserted) return undefined;
  await tx
    .insertInto('bulk_rows')
    .values(
      batch.rows.map((r) => ({
        batch_id: batch.id,
        row_number: r.row,
        line: r.line,
        username: r.echo.username,
        email: r.echo.email,
        user_type: r.echo.userType,
        is_staff: r.echo.isStaff,
        permissions: r.echo.permissions,
        locale: r.echo.locale,
        status: r.command ? ('pending' as const) : ('failed' as const),
        problem: r.failure ? asJsonb(r.failure) : null,
        finished_at: r.failure ? new Date() : null,
      })),
    )
    .execute();
  return inserted;
}

export async function findBatch(db: Queryable, id: string): Promise<BulkBatchRow | undefined> {
  return db.selectFrom('bulk_batches').selectAll().where('id', '=', id).executeTakeFirst();
}

export async function deleteBatch(db: Queryable, id: string): Promise<void> {
  await db.deleteFrom('bulk_batches').where('id', '=', id).execute();
}

export async function batchRows(db: Queryable, batchId: string): Promise<BulkRowRow[]> {
  return db.selectFrom('bulk_rows').selectAll().where('batch_id', '=', batchId).orderBy('row_number').execute();
}

export async function pendingRows(db: Queryable, batchId: string, limit: number): Promise<BulkRowRow[]> {
  return db.selectFrom('bulk_rows').selectAll().where('batch_id', '=', batchId).where('status', '=', 'pending').orderBy('row_number').limit(limit).execute();
}

/** Conditional on `pending`: a retried step never overwrites a result already recorded. */
export async function recordRowCreated(db: Queryable, batchId: string, row: number, userId: string, invitationId: string): Promise<void> {
  await db
    .updateTable('bulk_rows')
    .set({ status: 'created', user_id: userId, invitation_id: invitationId, finished_at: sql`now()` })
    .where('batch_id', '=', batchId)
    .where('row_number', '=', row)
    .where('status', '=', 'pending')
    .execute();
}

export async function recordRowFailed(db: Queryable, batchId: string, row: number, failure: RowFailure): Promise<void> {
  await db
    .updateTable('bulk_rows')
    .set({ status: 'failed', problem: asJsonb(failure), finished_at: sql`now()` })
    .where('batch_id', '=', batchId)
    .where('row_number', '=', row)
    .where('status', '=', 'pending')
    .execute();
}

export async function countPending(db: Queryable, batchId: string): Promise<number> {
  const { n } = await db
    .selectFrom('bulk_rows')
    .select((eb) => eb.fn.countAll<string>().as('n'))
    .where('batch_id', '=', batchId)
    .where('status', '=', 'pending')
    .executeTakeFirstOrThrow();
  return Number(n);
}

export async function completeBatch(db: Queryable, batchId: string): Promise<void> {
  await db.updateTable('bulk_batches').set({ completed_at: sql`now()` }).where('id', '=', batchId).where('completed_at', 'is', null).execute();
}

/**
 * Which of many canonical usernames, skeletons and emails users not deleted already hold: the
 * check of takenKeys (users/user.repository.ts) for a whole file in one query.
 */
export async function takenAmong(
  db: Queryable,
  keys: { usernameKeys: string[]; skeletons: string[]; emailKeys: string[] },
): Promise<{ usernameKeys: Set<string>; skeletons: Set<string>; emailKeys: Set<string> }> {
  const empty = { usernameKeys: new Set<string>(), skeletons: new Set<string>(), emailKeys: new Set<string>() };
  // Every valid row has all three, so the lists are empty together (and `in ()` is not SQL).
  if (keys.usernameKeys.length === 0 || keys.skeletons.length === 0 || keys.emailKeys.length === 0) return empty;
  const rows = await db
    .selectFrom('users')
    .select(['username_key', 'username_skeleton', 'email_key'])
    .where('deleted_at', 'is', null)
    .where((eb) =>
      eb.or([
        eb('username_key', 'in', keys.usernameKeys),
        eb('username_skeleton', 'in', keys.skeletons),
        eb('email_key', 'in', keys.emailKeys),
      ]),
    )
    .execute();
  for (const r of rows) {
    empty.usernameKeys.add(r.username_key);
    empty.skeletons.add(r.username_skeleton);
    empty.emailKeys.add(r.email_key);
  }
  return empty;
}
