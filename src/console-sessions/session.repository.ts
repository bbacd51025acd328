import { sql } from 'kysely';
import type { Queryable } from '../db/database.js';
import type { UserRow } from '../db/schema.js';

/** Lifetimes in milliseconds: idle (since the last request) and absolute (since sign-in). */
export interface SessionLifetimes {
  idleMs: number;
  maxAgeMs: number;
}

// A digest of the password hash, computed by the database on both sides of the comparison.
const fingerprintOf = (column: string) => sql<string>`encode(sha256(convert_to(${sql.ref(column)}, 'UTF8')), 'hex')`;
const olderThan = (ms: number) => sql<Date>`now() - make_interval(secs => ${ms / 1000})`;

/** A session for this user, bound to the password hash it has now; false when the user has none. */
export async function insertSession(db: Queryable, row: { tokenHash: string; userId: string; csrfToken: string }): Promise<boolean> {
  const inserted = await db
    .insertInto('console_sessions')
    .columns(['token_hash', 'user_id', 'password_fingerprint', 'csrf_token'])
    .expression((eb) =>
      eb
        .selectFrom('users')
        .select([sql.val(row.tokenHash).as('token_hash'), 'id', fingerprintOf('users.password_hash').as('password_fingerprint'), sql.val(row.csrfToken).as('csrf_token')])
        .where('id', '=', row.userId)
        .where('password_hash', 'is not', null),
    )
    .returning('token_hash')
    .executeTakeFirst();
  return inserted !== undefined;
}

/**
 * The session's staff member, if the session still counts: within both lifetimes (the
 * database's clock) and its user still an active staff member, not deleted, with the password
 * the session began with. Every rule that ends a session is checked here, on every request.
 * The idle clock restarts in the same round trip, but is written only once it is a sixtieth
 * of the idle timeout old (30 s of 30 minutes): a page view is then a read, not a commit.
 */
export async function touchSession(db: Queryable, tokenHash: string, lifetimes: SessionLifetimes): Promise<(UserRow & { csrf_token: string }) | undefined> {
  const rows = await sql<UserRow & { csrf_token: string }>`
    with live as (
      select u.*, s.csrf_token, s.last_seen_at as session_seen_at
      from console_sessions s join users u on u.id = s.user_id
      where s.token_hash = ${tokenHash}
        and s.last_seen_at > ${olderThan(lifetimes.idleMs)}
        and s.created_at > ${olderThan(lifetimes.maxAgeMs)}
        and u.deleted_at is null and u.status = 'active' and u.is_staff
        and u.password_hash is not null and ${fingerprintOf('u.password_hash')} = s.password_fingerprint
    ), touched as (
      update console_sessions set last_seen_at = now()
      where token_hash = ${tokenHash} and exists (select 1 from live where session_seen_at < ${olderThan(lifetimes.idleMs / 60)})
    )
    select * from live`.execute(db);
  const row = rows.rows[0] as (UserRow & { csrf_token: string; session_seen_at?: unknown }) | undefined;
  if (row) delete row.session_seen_at;
  return row;
}

export async function deleteSession(db: Queryable, tokenHash: string): Promise<void> {
  await db.deleteFrom('console_sessions').where('token_hash', '=', tokenHash).execute();
}

/** Removes the session; whose it was, when there was one (for the trail). */
export async function endSession(db: Queryable, tokenHash: string): Promise<{ user_id: string; username: string } | undefined> {
  const rows = await sql<{ user_id: string; username: string }>`
    delete from console_sessions s using users u
    where s.token_hash = ${tokenHash} and u.id = s.user_id
    returning s.user_id, u.username`.execute(db);
  return rows.rows[0];
}

/** Sessions past either lifetime; they open nothing, this only keeps the table small. */
export async function deleteLapsedSessions(db: Queryable, lifetimes: SessionLifetimes): Promise<void> {
  await db
    .deleteFrom('console_sessions')
    .where((eb) => eb.or([eb('last_seen_at', '<=', olderThan(lifetimes.idleMs)), eb('created_at', '<=', olderThan(lifetimes.maxAgeMs))]))
    .execute();
}
