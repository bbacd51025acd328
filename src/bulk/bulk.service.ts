import { createHash } from 'node:crypto';
import { WorkflowNotFoundError } from '@temporalio/client';
import { uuidv7 } from 'uuidv7';
import type { Actor } from '../audit/actor.js';
import type { AppDeps } from '../deps.js';
import { DomainError, type FieldError } from '../errors.js';
import { derivedUuid } from '../invitations/idempotency.js';
import { inviteUser } from '../invitations/invitation.service.js';
import { temporalCall, wasUnreachable } from '../temporal/calls.js';
import { canonicalEmail, canonicalUsername, skeletonOfUsernameKey } from '../users/identity.js';
import { isUuid } from '../users/ids.js';
import { usernameTaken } from '../users/user.repository.js';
import { bulkInvitationWorkflowId } from '../workflows/bulk-invitation.messages.js';
import type { BulkInvitationWorkflow } from '../workflows/bulk-invitation.messages.js';
import type { BulkBatchRow, BulkRowRow } from '../db/schema.js';
import {
  batchRows,
  completeBatch,
  countPending,
  deleteBatch,
  findBatch,
  insertBatch,
  pendingRows,
  recordRowCreated,
  recordRowFailed,
  takenAmong,
} from './bulk.repository.js';
import type { CheckedRow, RowFailure, SubmittedRow } from './rows.js';

export interface BulkSubmission {
  /** The rows as sent: what makes a retry with the same Idempotency-Key the same request. */
  submitted: SubmittedRow[];
  rows: CheckedRow[];
  principal: string;
  actor: Actor;
  idempotencyKey?: string | undefined;
}

/**
 * The checks that need the whole file or the database, on rows that passed the field checks:
 * a user named twice in the file (canonical username, look-alike skeleton, canonical email:
 * the forms the unique indexes use), then names and addresses already taken. Both are known
 * now, so they are reported at once; the invite path checks again when the row's turn comes.
 */
export async function checkBatch(deps: AppDeps, rows: CheckedRow[]): Promise<CheckedRow[]> {
  const seen = { username: new Map<string, number>(), skeleton: new Map<string, number>(), email: new Map<string, number>() };
  const keyed = new Map<number, { usernameKey: string; skeleton: string; emailKey: string }>();
  const afterDuplicates = rows.map((r): CheckedRow => {
    if (!r.command) return r;
    const usernameKey = canonicalUsername(r.command.username);
    const skeleton = skeletonOfUsernameKey(usernameKey);
    const email = canonicalEmail(r.command.email);
    const emailKey = email.ok ? email.value : r.command.email;
    const sameName = seen.username.get(usernameKey);
    const lookalike = sameName === undefined ? seen.skeleton.get(skeleton) : undefined;
    const sameEmail = seen.email.get(emailKey);
    const errors: FieldError[] = [];
    if (sameName !== undefined) errors.push({ field: 'username', message: `is the same as in row ${sameName}` });
    if (lookalike !== undefined) errors.push({ field: 'username', message: `looks the same as the username in row ${lookalike}` });
    if (sameEmail !== undefined) errors.push({ field: 'email', message: `is the same as in row ${sameEmail}` });
    if (errors.length) {
      const first = Math.min(...[sameName, lookalike, sameEmail].filter((n): n is number => n !== undefined));
      const what = errors.map((e) => e.field).join(' and ');
      return { ...r, command: undefined, failure: { type: 'DuplicateInBatch', detail: `Row ${first} of this file already names this ${what === 'username and email' ? 'username and email address' : what === 'email' ? 'email address' : 'username'}.`, errors, duplicateOf: first } };
    }
    seen.username.set(usernameKey, r.row);
    seen.skeleton.set(skeleton, r.row);
    seen.email.set(emailKey, r.row);
    keyed.set(r.row, { usernameKey, skeleton, emailKey });
    return r;
  });

  const keys = [...keyed.values()];
  const taken = await takenAmong(deps.db, {
    usernameKeys: keys.map((k) => k.usernameKey),
    skeletons: keys.map((k) => k.skeleton),
    emailKeys: keys.map((k) => k.emailKey),
  });
  return afterDuplicates.map((r): CheckedRow => {
    const k = keyed.get(r.row);
    if (!r.command || !k) return r;
    // The same problems, in the same words, as a single invitation (inviteUser).
    const name = taken.usernameKeys.has(k.usernameKey) ? usernameTaken('same') : taken.skeletons.has(k.skeleton) ? usernameTaken('lookalike') : undefined;
    const emailTaken = taken.emailKeys.has(k.emailKey);
    if (!name && !emailTaken) return r;
    const errors = [...(name?.extra.errors ?? []), ...(emailTaken ? [{ field: 'email', message: 'is already in use' }] : [])];
    const failure: RowFailure = name
      ? { type: 'UsernameTaken', detail: name.message, errors }
      : { type: 'EmailTaken', detail: 'This email address is already in use.', errors };
    return { ...r, command: undefined, failure };
  });
}

/**
 * Stores the batch and its rows, then starts its workflow. With an Idempotency-Key the batch
 * id is derived from the caller and the key: a retry finds the batch it created (and starts
 * its workflow if the first attempt died before doing so); the same key with another file is
 * a 422. Without one, a batch whose workflow cannot be started is removed again (503).
 */
export async function submitBulkInvitation(deps: AppDeps, submission: BulkSubmission) {
  const fingerprint = createHash('sha256')
    .update(JSON.stringify(submission.submitted.map((r) => [r.row, r.values, r.structureProblem ?? null])))
    .digest('base64url');
  const key = submission.idempotencyKey;
  const id = key === undefined ? uuidv7() : derivedUuid(`${submission.principal}\0${key}\0bulk-invitation`);
  const workflowId = bulkInvitationWorkflowId(id);
  // One transaction: never a batch without its rows. A double click with the same key waits
  // here on the first request's insert and then finds its batch.
  const inserted = await deps.db.transaction().execute((tx) => insertBatch(tx, {
    id,
    principal: submission.principal,
    idempotencyKey: key ?? null,
    fingerprint,
    workflowId,
    perSecond: deps.config.BULK_INVITES_PER_SECOND,
    createdBy: submission.actor,
    rows: submission.rows,
  }));
  const batch = inserted ?? (await findBatch(deps.db, id));
  if (!batch) throw new Error(`bulk batch ${id} neither inserted nor found`);
  if (!inserted && batch.request_fingerprint !== fingerprint) {
    throw new DomainError('IdempotencyKeyReused', 'This Idempotency-Key was already used for a different bulk invitation. Use a new key for a new file.');
  }
  if (batch.completed_at === null) {
    try {
      await startBatchWorkflow(deps, batch);
    } catch (error) {
      // Removed only when the start surely did not happen: a workflow started after all
      // (its answer lost) would otherwise run for a batch that is gone.
      if (key === undefined && inserted) {
        const exists = await workflowExists(deps, workflowId);
        if (exists === 'no' || (exists === 'unknown' && wasUnreachable(error))) await deleteBatch(deps.db, id);
      }
      throw error;
    }
  }
  return { view: await bulkInvitationView(deps, id), replayed: !inserted };
}

/** `unknown` when the lookup fails too: then the batch stays, and the answer says the outcome is not known. */
async function workflowExists(deps: AppDeps, workflowId: string): Promise<'yes' | 'no' | 'unknown'> {
  try {
    await deps.temporal.withDeadline(Date.now() + 2_000, () => deps.temporal.workflow.getHandle(workflowId).describe());
    return 'yes';
  } catch (error) {
    return error instanceof WorkflowNotFoundError ? 'no' : 'unknown';
  }
}

async function startBatchWorkflow(deps: AppDeps, batch: BulkBatchRow) {
  await temporalCall(
    deps.temporal,
    () =>
    deps.temporal.workflow.start<BulkInvitationWorkflow>('bulkInvitationWorkflow', {
      workflowId: batch.workflow_id,
      taskQueue: deps.config.TEMPORAL_TASK_QUEUE,
      args: [{ batchId: batch.id, perSecond: batch.per_second }],
      // A retry joins the running workflow; after a finished run a new one only finds the rows
      // still pending (none, normally) and ends.
      workflowIdConflictPolicy: 'USE_EXISTING',
      workflowIdReusePolicy: 'ALLOW_DUPLICATE',
      staticSummary: `Bulk invitation ${batch.id} (${batch.total} rows)`,
    }),
    // The answer was lost: if the workflow exists, the start happened and the batch runs.
    async () => {
      const exists = await workflowExists(deps, batch.workflow_id);
      if (exists === 'yes') return deps.temporal.workflow.getHandle(batch.workflow_id);
      if (exists === 'unknown') throw new Error('the workflow service did not answer the lookup either');
      throw new DomainError('DependencyUnavailable', 'The workflow service did not answer in time, and the bulk invitation was not started. Try again shortly.', { retryAfterSeconds: 5 });
    },
  );
}

export interface BulkRowView {
  row: number;
  line: number | null;
  username: string;
  email: string;
  status: BulkRowRow['status'];
  userId: string | null;
  invitationId: string | null;
  failure: RowFailure | null;
}

export async function bulkInvitationView(deps: AppDeps, id: string) {
  const batch = isUuid(id) ? await findBatch(deps.db, id) : undefined;
  if (!batch) throw new DomainError('BatchNotFound', `No bulk invitation ${id}.`);
  const rows = await batchRows(deps.db, id);
  const count = (status: BulkRowRow['status']) => rows.filter((r) => r.status === status).length;
  return {
    id: batch.id,
    status: batch.completed_at === null ? ('running' as const) : ('completed' as const),
    createdAt: new Date(batch.created_at).toISOString(),
    completedAt: batch.completed_at === null ? null : new Date(batch.completed_at).toISOString(),
    createdBy: batch.created_by,
    perSecond: batch.per_second,
    counts: { total: batch.total, pending: count('pending'), created: count('created'), failed: count('failed') },
    rows: rows.map(
      (r): BulkRowView => ({
        row: r.row_number,
        line: r.line,
        username: r.username,
        email: r.email,
        status: r.status,
        userId: r.user_id,
        invitationId: r.invitation_id,
        failure: (r.problem as RowFailure | null) ?? null,
      }),
    ),
  };
}

/** Rows of one tick invited side by side, up to this many at once. */
const ROW_CONCURRENCY = 8;

/**
 * One tick of a batch's workflow: invites up to `limit` pending rows through inviteUser, the
 * path of a single invitation, so each row gets its own invitation workflow. The row's
 * Idempotency-Key is derived from the batch and the row number: a retried step that invited
 * a row before (and crashed before recording it) gets that same user back as a replay, never
 * a second invitation and never a 409 against its own user.
 */
export async function inviteBatchRows(
  deps: AppDeps,
  batchId: string,
  limit: number,
  step: { heartbeat: () => void; cancelled: AbortSignal },
): Promise<{ remaining: number }> {
  const batch = await findBatch(deps.db, batchId);
  if (!batch) return { remaining: 0 }; // removed again (its workflow could not be confirmed): nothing to do
  const rows = await pendingRows(deps.db, batchId, limit);
  // A worker shutting down (or a cancelled workflow) stops taking rows; those in flight end
  // (each within the Temporal call's deadline) and the rest stay pending for the retry.
  const outcomes = await settleWithLimit(rows, ROW_CONCURRENCY, step.cancelled, async (row) => {
    try {
      const result = await inviteUser(
        deps,
        { username: row.username, email: row.email, userType: row.user_type, isStaff: row.is_staff, permissions: row.permissions, locale: row.locale as 'de' | 'en' },
        { name: batch.created_by ?? 'api', key: batch.created_by_key },
        { principal: batch.principal, key: `bulk:${batchId}:${row.row_number}` },
      );
      await recordRowCreated(deps.db, batchId, row.row_number, result.user.id, result.invitation.id);
    } catch (error) {
      // An outage is retried with the step; anything else is this row's answer.
      if (!(error instanceof DomainError) || error.type === 'DependencyUnavailable') throw error;
      const { errors } = error.extra;
      await recordRowFailed(deps.db, batchId, row.row_number, { type: error.type, detail: error.message, ...(errors ? { errors } : {}) });
    }
    step.heartbeat();
  });
  step.cancelled.throwIfAborted();
  const outage = outcomes.find((o): o is PromiseRejectedResult => o.status === 'rejected');
  if (outage) throw outage.reason;
  const remaining = await countPending(deps.db, batchId);
  if (remaining === 0) await completeBatch(deps.db, batchId);
  return { remaining };
}

async function settleWithLimit<T>(items: T[], limit: number, stop: AbortSignal, run: (item: T) => Promise<void>): Promise<PromiseSettledResult<void>[]> {
  const results: PromiseSettledResult<void>[] = [];
  let next = 0;
  const lane = async () => {
    for (let i = next++; i < items.length && !stop.aborted; i = next++) {
      results[i] = await run(items[i]!).then(
        (value) => ({ status: 'fulfilled' as const, value }),
        (reason: unknown) => ({ status: 'rejected' as const, reason }),
      );
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
  return results;
}
