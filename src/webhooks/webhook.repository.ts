import { sql, type UpdateObject } from 'kysely';
import type { Queryable } from '../db/database.js';
import type { DB } from '../db/schema.js';


/** created_at to the microsecond, for keyset cursors (src/paging.ts). */
const exactCreatedAt = sql<string>`to_char(created_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;
const instant = (text: string) => sql<Date>`${text}::text::timestamptz`;

export async function insertEndpoint(
  db: Queryable,
  values: { id: string; url: string; description: string | null; event_types: string[]; secret_ciphertext: string; created_by: string | null },
) {
  return db.insertInto('webhook_endpoints').values({ ...values, updated_at: new Date() }).returningAll().executeTakeFirstOrThrow();
}

export async function findEndpoint(db: Queryable, id: string, options: { forUpdate?: boolean } = {}) {
  const q = db.selectFrom('webhook_endpoints').selectAll().where('id', '=', id);
  return (options.forUpdate ? q.forUpdate() : q).executeTakeFirst();
}

/** The secret a rotation replaced, while it still signs: decided by the database's clock, like every other deadline here. */
const signingPreviousSecret = (table: 'w' | 'webhook_endpoints') =>
  sql<string | null>`case when ${sql.ref(`${table}.previous_secret_expires_at`)} > now() then ${sql.ref(`${table}.previous_secret_ciphertext`)} end`;

/** What signs a test event: the endpoint's address and its secrets, the previous one only while it still signs. */
export async function endpointForTest(db: Queryable, id: string) {
  return db
    .selectFrom('webhook_endpoints')
    .select(['id', 'url', 'status', 'secret_ciphertext'])
    .select(signingPreviousSecret('webhook_endpoints').as('previous_secret_ciphertext'))
    .where('id', '=', id)
    .executeTakeFirst();
}

export async function listEndpoints(db: Queryable, limit: number, after?: { createdAt: string; id: string }) {
  let q = db.selectFrom('webhook_endpoints').selectAll().select(exactCreatedAt.as('cursor_created_at'));
  if (after) {
    const createdAt = instant(after.createdAt);
    q = q.where((eb) => eb.or([eb('created_at', '<', createdAt), eb.and([eb('created_at', '=', createdAt), eb('id', '<', after.id)])]));
  }
  return q.orderBy('created_at', 'desc').orderBy('id', 'desc').limit(limit).execute();
}

export async function updateEndpoint(db: Queryable, id: string, set: UpdateObject<DB, 'webhook_endpoints'>) {
  return db.updateTable('webhook_endpoints').set({ ...set, updated_at: sql<Date>`now()` }).where('id', '=', id).returningAll().executeTakeFirst();
}

/** Re-enabling starts a fresh count of failures. */
export async function enableEndpoint(db: Queryable, id: string) {
  return updateEndpoint(db, id, { status: 'enabled', disabled_at: null, disabled_reason: null, failing_since: null });
}

export async function deleteEndpoint(db: Queryable, id: string) {
  return db.deleteFrom('webhook_endpoints').where('id', '=', id).returning(['id', 'url']).executeTakeFirst();
}

export async function listDeliveries(db: Queryable, endpointId: string, limit: number, after?: { createdAt: string; id: string }) {
  let q = db
    .selectFrom('webhook_deliveries as d')
    .innerJoin('webhook_events as e', 'e.id', 'd.event_id')
    .selectAll('d')
    .select(['e.type as event_type', 'e.sequence as event_sequence'])
    .select(sql<string>`to_char(d.created_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`.as('cursor_created_at'))
    .where('d.endpoint_id', '=', endpointId);
  if (after) {
    const createdAt = instant(after.createdAt);
    q = q.where((eb) => eb.or([eb('d.created_at', '<', createdAt), eb.and([eb('d.created_at', '=', createdAt), eb('d.id', '<', after.id)])]));
  }
  return q.orderBy('d.created_at', 'desc').orderBy('d.id', 'desc').limit(limit).execute();
}

export type DeliveryListRow = Awaited<ReturnType<typeof listDeliveries>>[number];

export async function findDelivery(db: Queryable, endpointId: string, id: string) {
  return db
    .selectFrom('webhook_deliveries as d')
    .innerJoin('webhook_events as e', 'e.id', 'd.event_id')
    .selectAll('d')
    .select(['e.type as event_type', 'e.sequence as event_sequence'])
    .where('d.endpoint_id', '=', endpointId)
    .where('d.id', '=', id)
    .executeTakeFirst();
}

/** A redelivery is a new row for the same event, at the back of its lane. */
export async function insertRedelivery(db: Queryable, original: { id: string; endpoint_id: string; event_id: string; user_id: string }, id: string, requestedBy: string | null) {
  await db
    .insertInto('webhook_deliveries')
    .values({ id, endpoint_id: original.endpoint_id, event_id: original.event_id, user_id: original.user_id, redelivery_of: original.id, requested_by: requestedBy })
    .execute();
  return findDelivery(db, original.endpoint_id, id);
}

// ---- What the delivery lanes do ----

/**
 * The next delivery of a lane (endpoint, user), oldest first, or null when there is none or
 * the endpoint is disabled: then the lane ends and its deliveries stay pending until the
 * endpoint is enabled again (handBackPending). A deleted endpoint took its deliveries with it.
 */
export async function nextLaneDelivery(db: Queryable, endpointId: string, userId: string): Promise<string | null> {
  const endpoint = await db.selectFrom('webhook_endpoints').select('status').where('id', '=', endpointId).executeTakeFirst();
  if (!endpoint || endpoint.status !== 'enabled') return null;
  const row = await db
    .selectFrom('webhook_deliveries')
    .select('id')
    .where('endpoint_id', '=', endpointId)
    .where('user_id', '=', userId)
    .where('status', '=', 'pending')
    .orderBy('position')
    .limit(1)
    .executeTakeFirst();
  return row?.id ?? null;
}

export async function deliveryForAttempt(db: Queryable, id: string) {
  return db
    .selectFrom('webhook_deliveries as d')
    .innerJoin('webhook_events as e', 'e.id', 'd.event_id')
    .innerJoin('webhook_endpoints as w', 'w.id', 'd.endpoint_id')
    .select([
      'd.id',
      'd.status',
      'd.endpoint_id',
      'e.id as event_id',
      'e.type',
      'e.user_id',
      'e.sequence',
      'e.data',
      sql<string>`to_char(e.created_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`.as('event_at'),
      'w.url',
      'w.secret_ciphertext',
      signingPreviousSecret('w').as('previous_secret_ciphertext'),
      'w.status as endpoint_status',
    ])
    .where('d.id', '=', id)
    .executeTakeFirst();
}

/**
 * Takes the lane's attempt lease for this delivery: at most one attempt per lane (endpoint and
 * user) is in flight, whichever worker, retry or zombie runs it. A transaction-scoped advisory
 * lock on the lane makes "no live lease in the lane, take one" atomic (two deliveries of a
 * lane have two rows, so a row lock alone would not do). Returns the token, or how long the
 * live lease has left.
 */
export async function takeAttemptLease(tx: Queryable, delivery: { id: string; endpoint_id: string; user_id: string }, token: string, leaseMs: number): Promise<{ token: string } | { busyForMs: number } | 'not pending'> {
  await sql`select pg_advisory_xact_lock(hashtextextended(${`webhook-lane:${delivery.endpoint_id}:${delivery.user_id}`}, 0))`.execute(tx);
  const live = await tx
    .selectFrom('webhook_deliveries')
    .select(sql<number>`ceil(extract(epoch from max(attempt_until) - now()) * 1000)::int`.as('left_ms'))
    .where('endpoint_id', '=', delivery.endpoint_id)
    .where('user_id', '=', delivery.user_id)
    .where('attempt_until', '>', sql<Date>`now()`)
    .executeTakeFirst();
  if (live?.left_ms) return { busyForMs: live.left_ms };
  const taken = await tx
    .updateTable('webhook_deliveries')
    .set({ attempt_token: token, attempt_until: sql<Date>`now() + make_interval(secs => ${leaseMs / 1000})` })
    .where('id', '=', delivery.id)
    .where('status', '=', 'pending')
    .returning('id')
    .executeTakeFirst();
  return taken ? { token } : 'not pending';
}

/** An attempt that ended without a result to record (aborted): its lease goes, nothing else changes. */
export async function releaseAttemptLease(db: Queryable, id: string, token: string): Promise<void> {
  await db.updateTable('webhook_deliveries').set({ attempt_token: null, attempt_until: null }).where('id', '=', id).where('attempt_token', '=', token).execute();
}

/**
 * The endpoint row first, then its delivery: the order deleting an endpoint takes them in (its
 * row, then the cascade), so recording an attempt and a delete cannot deadlock.
 */
async function lockEndpointFirst(db: Queryable, endpointId: string): Promise<void> {
  await db.selectFrom('webhook_endpoints').select('id').where('id', '=', endpointId).forKeyShare().execute();
}

/** Returns false if this attempt no longer held the lease (then it records nothing). */
export async function recordSuccess(db: Queryable, id: string, endpointId: string, answer: { status: number; excerpt: string }, token: string): Promise<boolean> {
  await lockEndpointFirst(db, endpointId);
  const updated = await db
    .updateTable('webhook_deliveries')
    .set({
      status: 'succeeded',
      attempts: sql<number>`attempts + 1`,
      first_attempt_at: sql<Date>`coalesce(first_attempt_at, now())`,
      last_attempt_at: sql<Date>`now()`,
      delivered_at: sql<Date>`now()`,
      next_attempt_at: null,
      last_response_status: answer.status,
      last_response_body: answer.excerpt,
      last_error: null,
      attempt_token: null,
      attempt_until: null,
    })
    .where('id', '=', id)
    .where('status', '=', 'pending')
    .where('attempt_token', '=', token)
    .returning('id')
    .executeTakeFirst();
  if (!updated) return false;
  // Any success ends the endpoint's run of failures.
  await db.updateTable('webhook_endpoints').set({ failing_since: null }).where('id', '=', endpointId).where('failing_since', 'is not', null).execute();
  return true;
}

/**
 * One failed attempt: the endpoint's run of failures starts now unless it already has.
 * Returns true if the endpoint is now to be disabled (see disableFailingEndpoint).
 */
export async function recordFailure(
  db: Queryable,
  id: string,
  endpointId: string,
  failure: { status: number | null; excerpt: string | null; error: string | null; nextAttemptAt: Date | null },
  windowMs: number,
  token: string,
): Promise<boolean> {
  await lockEndpointFirst(db, endpointId);
  const recorded = await db
    .updateTable('webhook_deliveries')
    .set({
      attempts: sql<number>`attempts + 1`,
      first_attempt_at: sql<Date>`coalesce(first_attempt_at, now())`,
      last_attempt_at: sql<Date>`now()`,
      next_attempt_at: failure.nextAttemptAt,
      last_response_status: failure.status,
      last_response_body: failure.excerpt,
      last_error: failure.error,
      attempt_token: null,
      attempt_until: null,
    })
    .where('id', '=', id)
    .where('status', '=', 'pending')
    .where('attempt_token', '=', token)
    .executeTakeFirst();
  // Not this attempt's to record any more (its lease lapsed): it changes nothing.
  if (Number(recorded.numUpdatedRows) === 0) return false;
  await db.updateTable('webhook_endpoints').set({ failing_since: sql<Date>`now()` }).where('id', '=', endpointId).where('failing_since', 'is', null).execute();
  return disableFailingEndpoint(db, endpointId, { failingForMs: windowMs });
}

/**
 * Disables an endpoint whose run of failures began at or before `since`, by one conditional
 * update, so of several lanes failing at once exactly one disables it (and reports it). Two
 * callers: any failed attempt, with "the retry window ago" (another lane has failed that
 * long), and a delivery that ran out of retries, with its own first attempt (every attempt
 * since then, on every lane, failed: the endpoint failed for the whole window).
 */
export async function disableFailingEndpoint(db: Queryable, endpointId: string, since: { failingForMs: number } | { firstAttemptOf: string }): Promise<boolean> {
  // Compared in SQL: both instants have microseconds, which a JS Date would cut off.
  const limit =
    'failingForMs' in since
      ? sql<Date>`now() - make_interval(secs => ${since.failingForMs / 1000})`
      : sql<Date>`(select first_attempt_at from webhook_deliveries where id = ${since.firstAttemptOf})`;
  const disabled = await db
    .updateTable('webhook_endpoints')
    .set({
      status: 'disabled',
      disabled_at: sql<Date>`now()`,
      disabled_reason: sql<string>`'every attempt failed since ' || to_char(failing_since at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')`,
      updated_at: sql<Date>`now()`,
    })
    .where('id', '=', endpointId)
    .where('status', '=', 'enabled')
    .where('failing_since', 'is not', null)
    .where('failing_since', '<=', limit)
    .returning('id')
    .executeTakeFirst();
  return disabled !== undefined;
}

/** The lane gave up on a delivery (retries ran out, or the endpoint went away meanwhile). */
export async function markDeliveryFailed(db: Queryable, id: string, reason: string) {
  return db
    .updateTable('webhook_deliveries')
    .set({ status: 'failed', next_attempt_at: null, last_error: reason.slice(0, 1000) })
    .where('id', '=', id)
    .where('status', '=', 'pending')
    .returning(['endpoint_id', 'first_attempt_at'])
    .executeTakeFirst();
}
