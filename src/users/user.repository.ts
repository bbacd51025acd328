import { sql, type Transaction } from 'kysely';
import type { Queryable } from '../db/database.js';
import type { DB, NewUserRow, UserRow, UserStatus, UserUpdate } from '../db/schema.js';
import { DomainError } from '../errors.js';
import { canonicalUsername, skeletonOfUsernameKey } from './identity.js';


/** Also a deleted user: for answering a retried request about it truthfully. */
export async function findUserByIdEvenDeleted(db: Queryable, id: string): Promise<UserRow | undefined> {
  return db.selectFrom('users').selectAll().where('id', '=', id).executeTakeFirst();
}

export async function findUserById(db: Queryable, id: string): Promise<UserRow | undefined> {
  return db.selectFrom('users').selectAll().where('id', '=', id).where('deleted_at', 'is', null).executeTakeFirst();
}

/** The staff users there are (not deleted), active ones first: is there anyone to sign in to the console? */
export async function findStaffUsers(db: Queryable, limit: number): Promise<UserRow[]> {
  return db
    .selectFrom('users')
    .selectAll()
    .where('deleted_at', 'is', null)
    .where('is_staff', '=', true)
    .orderBy(sql`status = 'active'`, 'desc')
    .orderBy('created_at')
    .limit(limit)
    .execute();
}

/** `login` is a canonical username or a canonical email. */
export async function findUserByLoginKey(db: Queryable, key: string): Promise<UserRow | undefined> {
  return db
    .selectFrom('users')
    .selectAll()
    .where('deleted_at', 'is', null)
    .where((eb) => eb.or([eb('username_key', '=', key), eb('email_key', '=', key)]))
    .executeTakeFirst();
}

/**
 * Whether the username or the email is held by a user that is not deleted: the username
 * either as such (`same`) or by a name that looks the same (`lookalike`, equal skeletons).
 */
export async function takenKeys(
  db: Queryable,
  usernameKey: string,
  emailKey: string,
): Promise<{ username: false | 'same' | 'lookalike'; email: boolean }> {
  const skeleton = skeletonOfUsernameKey(usernameKey);
  const rows = await db
    .selectFrom('users')
    .select(['username_key', 'username_skeleton', 'email_key'])
    .where('deleted_at', 'is', null)
    .where((eb) => eb.or([eb('username_key', '=', usernameKey), eb('username_skeleton', '=', skeleton), eb('email_key', '=', emailKey)]))
    .execute();
  const sameName = rows.some((r) => r.username_key === usernameKey);
  return {
    username: sameName ? 'same' : rows.some((r) => r.username_skeleton === skeleton) ? 'lookalike' : false,
    email: rows.some((r) => r.email_key === emailKey),
  };
}

/**
 * A look-alike is refused like a taken name (409, not 422): the name is valid on its own and
 * becomes free again when the other user is deleted; it conflicts with state, not rules.
 */
export function usernameTaken(kind: 'same' | 'lookalike' = 'same'): DomainError {
  return kind === 'same'
    ? new DomainError('UsernameTaken', 'This username is already in use.', { errors: [{ field: 'username', message: 'is already in use' }] })
    : new DomainError('UsernameTaken', 'This username looks the same as one already in use.', {
        errors: [{ field: 'username', message: 'looks the same as a username already in use' }],
      });
}

export function uniqueViolationToDomain(error: unknown): DomainError | undefined {
  const e = error as { code?: string; constraint_name?: string; constraint?: string };
  if (e?.code !== '23505') return undefined;
  const constraint = e.constraint_name ?? e.constraint ?? '';
  if (constraint.includes('username_skeleton')) return usernameTaken('lookalike');
  if (constraint.includes('username')) return usernameTaken('same');
  if (constraint.includes('email')) return new DomainError('EmailTaken', 'This email address is already in use.', { errors: [{ field: 'email', message: 'is already in use' }] });
  return undefined;
}

/**
 * Inserts the user, with the skeleton of its canonical username. The unique indexes on the
 * canonical keys and the skeleton are what really guard uniqueness, and their violations
 * become typed 409 failures here. A row with this id already there is no error but
 * undefined: registering is retried and raced on purpose (src/invitations/registration.ts).
 */
/**
 * Serialises registrations of one user id until the transaction ends. The API and the
 * invitation workflow's first step register the same user on purpose; `on conflict (id)`
 * alone lets both pass the id check when they start together, and the later insert then
 * fails on the username or email index instead of finding the first one's row.
 */
export async function lockUserIdForRegistration(tx: Transaction<DB>, id: string): Promise<void> {
  await sql`select pg_advisory_xact_lock(hashtextextended(${`user-registration:${id}`}, 0))`.execute(tx);
}

export async function insertUserUnlessIdExists(db: Queryable, row: Omit<NewUserRow, 'username_skeleton'>): Promise<UserRow | undefined> {
  try {
    return await db
      .insertInto('users')
      .values({ ...row, username_skeleton: skeletonOfUsernameKey(row.username_key) })
      .onConflict((oc) => oc.column('id').doNothing())
      .returningAll()
      .executeTakeFirst();
  } catch (error) {
    throw uniqueViolationToDomain(error) ?? error;
  }
}

export interface ListUsersQuery {
  status?: UserStatus | undefined;
  q?: string | undefined;
  limit: number;
  /** created_at exactly as Postgres keeps it (microseconds), and the id, of the last row seen. */
  after?: { createdAt: string; id: string } | undefined;
}

/** created_at to the microsecond: a JS Date has only milliseconds and would skip rows. */
const exactCreatedAt = sql<string>`to_char(created_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;

/** Newest first, keyset-paginated on (created_at, id) so pages never skip or repeat rows. */
export async function listUsers(db: Queryable, query: ListUsersQuery): Promise<Array<UserRow & { cursor_created_at: string }>> {
  let q = db.selectFrom('users').selectAll().select(exactCreatedAt.as('cursor_created_at')).where('deleted_at', 'is', null);
  if (query.status) q = q.where('status', '=', query.status);
  if (query.q) {
    const like = (text: string) => `%${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
    const usernamePattern = like(canonicalUsername(query.q));
    const emailPattern = like(query.q.normalize('NFKC').toLowerCase());
    q = q.where((eb) => eb.or([eb('username_key', 'like', usernamePattern), eb('email_key', 'like', emailPattern)]));
  }
  if (query.after) {
    // Sent as text: postgres.js would pass a timestamptz parameter through a JS Date (ms).
    const createdAt = sql<Date>`${query.after.createdAt}::text::timestamptz`;
    const { id } = query.after;
    q = q.where((eb) =>
      eb.or([eb('created_at', '<', createdAt), eb.and([eb('created_at', '=', createdAt), eb('id', '<', id)])]),
    );
  }
  return q.orderBy('created_at', 'desc').orderBy('id', 'desc').limit(query.limit).execute();
}

/** What a staff edit may change: profile fields, never the status (that is account-status.ts). */
export type ProfileUpdate = Pick<
  UserUpdate,
  'username' | 'username_key' | 'username_skeleton' | 'email' | 'email_key' | 'email_verified_at' | 'user_type' | 'is_staff' | 'permissions' | 'updated_at'
>;

export async function updateProfile(tx: Queryable, id: string, set: ProfileUpdate): Promise<UserRow | undefined> {
  try {
    return await tx.updateTable('users').set(set).where('id', '=', id).where('deleted_at', 'is', null).returningAll().executeTakeFirst();
  } catch (error) {
    throw uniqueViolationToDomain(error) ?? error;
  }
}
