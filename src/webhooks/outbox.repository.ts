import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import type { QueryCreator } from 'kysely';
import type { Queryable } from '../db/database.js';
import type { DB } from '../db/schema.js';
import type { WebhookEventDraft } from './events.js';

/**
 * The outbox rows of one change, as the tail of the caller's single statement (recordAudit
 * writes the audit row, the counter and the events in one round trip, inside the caller's
 * transaction: they commit with the change or not at all).
 *
 * `nextWebhookSequences` is the CTE that upserts the per-user counter by the number of events
 * and returns the new last sequence; the counter row stays locked until commit, so two
 * transactions for one user number their events in the order they commit, without gaps, and
 * the unique (user_id, sequence) index holds the line. `webhookEventRows` selects the events'
 * rows from that CTE, which the caller must name `webhook_sequence`.
 */
export function nextWebhookSequences(q: QueryCreator<DB>, userId: string, count: number) {
  return q
    .insertInto('webhook_user_sequences')
    .values({ user_id: userId, last_sequence: count })
    .onConflict((oc) => oc.column('user_id').doUpdateSet({ last_sequence: sql`webhook_user_sequences.last_sequence + ${count}` }))
    .returning('last_sequence');
}

export function webhookEventRows(userId: string, events: WebhookEventDraft[]) {
  // `data` goes through text: postgres.js would encode a string bound to a jsonb parameter as
  // a JSON string scalar, not as the object it spells. Ordered, so `position` follows sequence.
  const values = sql.join(events.map((event, i) => sql`(${randomUUID()}::uuid, ${i + 1}::bigint, ${event.type}::text, ${JSON.stringify(event.data)}::text)`));
  return sql<{ id: string; user_id: string; sequence: string; type: string; data: string }>`select e.id, ${userId}::uuid, s.last_sequence - ${events.length}::bigint + e.ordinal, e.type, e.data::jsonb
    from webhook_sequence s, (values ${values}) as e(id, ordinal, type, data) order by e.ordinal`;
}

export interface DispatchedLane {
  endpointId: string;
  userId: string;
}

/**
 * Fans undispatched outbox rows out into one delivery per subscribed endpoint, in outbox
 * order, and marks them dispatched, all in one transaction (retried as a whole). Rows are
 * locked, not skipped, so a second dispatcher attempt waits instead of overtaking. A disabled
 * endpoint gets its deliveries too: they wait, pending, until it is enabled again (README
 * promises staff can catch up), and are then sent in order.
 *
 * With `includePii` (WEBHOOK_INCLUDE_PII) the events get the user's username and email here,
 * once, as the record holds them now (moments after the change), so every attempt and
 * redelivery sends the same body. A deleted user's events get neither.
 */
export async function dispatchOutbox(tx: Queryable, batch: number, options: { includePii: boolean }): Promise<number> {
  const events = await tx
    .selectFrom('webhook_events')
    .select(['id', 'type', 'user_id', 'position'])
    .where('dispatched_at', 'is', null)
    .orderBy('position')
    .limit(batch)
    .forUpdate()
    .execute();
  if (events.length === 0) return 0;
  const endpoints = await tx.selectFrom('webhook_endpoints').select(['id', 'event_types']).execute();
  const deliveries = events.flatMap((event) =>
    endpoints
      .filter((endpoint) => endpoint.event_types.includes(event.type))
      .map((endpoint) => ({ id: randomUUID(), endpoint_id: endpoint.id, event_id: event.id, user_id: event.user_id })),
  );
  // One statement in event order, so the lane positions follow each user's sequence.
  if (deliveries.length) {
    await tx
      .insertInto('webhook_deliveries')
      .values(deliveries)
      .onConflict((oc) => oc.columns(['endpoint_id', 'event_id']).where('redelivery_of', 'is', null).doNothing())
      .execute();
  }
  await tx
    .updateTable('webhook_events')
    .set({ dispatched_at: sql<Date>`now()` })
    .where('id', 'in', events.map((e) => e.id))
    .execute();
  if (options.includePii) {
    await sql`update webhook_events e set data = e.data || jsonb_build_object('username', u.username, 'email', u.email)
      from users u where u.id = e.user_id and u.deleted_at is null and e.id = any(${events.map((e) => e.id)}::uuid[])`.execute(tx);
  }
  return events.length;
}

/**
 * Lanes with deliveries no lane workflow has been told about yet (new events, redeliveries),
 * on enabled endpoints: a disabled endpoint's deliveries wait until enabling hands them over
 * again (handBackPending).
 */
export async function lanesWaiting(db: Queryable, limit: number): Promise<(DispatchedLane & { upTo: string; only: string | null })[]> {
  const rows = await db
    .selectFrom('webhook_deliveries as d')
    .select([
      'd.endpoint_id',
      'd.user_id',
      (eb) => eb.fn.max('d.position').as('up_to'),
      // The lane's one delivery, if it has exactly one pending and no attempt in flight: an
      // idle lane whose delivery the dispatcher may try itself (min() of one id is that id).
      sql<string | null>`case when count(*) = 1
        and not exists (select 1 from webhook_deliveries o where o.endpoint_id = d.endpoint_id and o.user_id = d.user_id and o.status = 'pending' and o.handed_over_at is not null)
        and not exists (select 1 from webhook_deliveries o where o.endpoint_id = d.endpoint_id and o.user_id = d.user_id and o.attempt_until > now())
        then min(d.id::text) end`.as('only'),
    ])
    .where('d.status', '=', 'pending')
    .where('d.handed_over_at', 'is', null)
    .where('d.endpoint_id', 'in', (eb) => eb.selectFrom('webhook_endpoints').select('id').where('status', '=', 'enabled'))
    .groupBy(['d.endpoint_id', 'd.user_id'])
    .limit(limit)
    .execute();
  return rows.map((r) => ({ endpointId: r.endpoint_id, userId: r.user_id, upTo: String(r.up_to), only: r.only }));
}

/** The lanes' workflows were started or signalled: these rows are theirs now. One statement for all lanes. */
export async function markHandedOver(db: Queryable, lanes: (DispatchedLane & { upTo: string })[]): Promise<void> {
  if (lanes.length === 0) return;
  const handed = sql.join(lanes.map((lane) => sql`(${lane.endpointId}::uuid, ${lane.userId}::uuid, ${lane.upTo}::bigint)`));
  await sql`update webhook_deliveries d set handed_over_at = now()
    from (values ${handed}) as l(endpoint_id, user_id, up_to)
    where d.endpoint_id = l.endpoint_id and d.user_id = l.user_id and d.position <= l.up_to and d.handed_over_at is null`.execute(db);
}

/**
 * An endpoint was enabled again: what waited for it (events raised while it was disabled, and
 * what its lanes left pending when they found it disabled) is handed to lanes again.
 */
export async function handBackPending(db: Queryable, endpointId: string): Promise<void> {
  await db
    .updateTable('webhook_deliveries')
    .set({ handed_over_at: null })
    .where('endpoint_id', '=', endpointId)
    .where('status', '=', 'pending')
    .where('handed_over_at', 'is not', null)
    .execute();
}
