import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import type { Queryable } from '../db/database.js';
import type { WebhookEventDraft } from './events.js';

/**
 * Writes the events of one change into the outbox, inside the caller's transaction: they
 * commit with the change or not at all. The per-user counter row is upserted first and stays
 * locked until commit, so two transactions for one user number their events in the order they
 * commit, without gaps, and the unique (user_id, sequence) index holds the line.
 */
export async function appendWebhookEvents(tx: Queryable, userId: string, events: WebhookEventDraft[]): Promise<void> {
  if (events.length === 0) return;
  const { last_sequence } = await tx
    .insertInto('webhook_user_sequences')
    .values({ user_id: userId, last_sequence: events.length })
    .onConflict((oc) => oc.column('user_id').doUpdateSet({ last_sequence: sql`webhook_user_sequences.last_sequence + ${events.length}` }))
    .returning('last_sequence')
    .executeTakeFirstOrThrow();
  const first = Number(last_sequence) - events.length + 1;
  await tx
    .insertInto('webhook_events')
    // Through text: postgres.js would encode a string bound to a jsonb parameter as a JSON
    // string scalar, not as the object it spells.
    .values(events.map((event, i) => ({ id: randomUUID(), user_id: userId, sequence: first + i, type: event.type, data: sql<string>`${JSON.stringify(event.data)}::text::jsonb` })))
    .execute();
}

export interface DispatchedLane {
  endpointId: string;
  userId: string;
}

/**
 * Fans undispatched outbox rows out into one delivery per subscribed, enabled endpoint, in
 * outbox order, and marks them dispatched, all in one transaction (retried as a whole). Rows
 * are locked, not skipped, so a second dispatcher attempt waits instead of overtaking.
 */
export async function dispatchOutbox(tx: Queryable, batch: number): Promise<number> {
  const events = await tx
    .selectFrom('webhook_events')
    .select(['id', 'type', 'user_id', 'position'])
    .where('dispatched_at', 'is', null)
    .orderBy('position')
    .limit(batch)
    .forUpdate()
    .execute();
  if (events.length === 0) return 0;
  const endpoints = await tx.selectFrom('webhook_endpoints').select(['id', 'event_types']).where('status', '=', 'enabled').execute();
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
  return events.length;
}

/** Lanes with deliveries no lane workflow has been told about yet (new events, redeliveries). */
export async function lanesWaiting(db: Queryable, limit: number): Promise<(DispatchedLane & { upTo: string })[]> {
  const rows = await db
    .selectFrom('webhook_deliveries')
    .select(['endpoint_id', 'user_id', (eb) => eb.fn.max('position').as('up_to')])
    .where('status', '=', 'pending')
    .where('handed_over_at', 'is', null)
    .groupBy(['endpoint_id', 'user_id'])
    .limit(limit)
    .execute();
  return rows.map((r) => ({ endpointId: r.endpoint_id, userId: r.user_id, upTo: String(r.up_to) }));
}

/** The lanes' workflows were started or signalled: these rows are theirs now. */
export async function markHandedOver(db: Queryable, lanes: (DispatchedLane & { upTo: string })[]): Promise<void> {
  for (const lane of lanes) {
    await db
      .updateTable('webhook_deliveries')
      .set({ handed_over_at: sql<Date>`now()` })
      .where('endpoint_id', '=', lane.endpointId)
      .where('user_id', '=', lane.userId)
      .where('position', '<=', lane.upTo)
      .where('handed_over_at', 'is', null)
      .execute();
  }
}
