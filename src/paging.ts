import { DomainError } from './errors.js';
import { isUuid } from './users/ids.js';

/**
 * Keyset paging, newest first, shared by the user overview and the email log: the cursor is
 * the (created_at, id) of the last row seen, created_at to the microsecond as Postgres keeps
 * it (a JS Date would drop microseconds and skip rows), opaque to clients.
 */
export function encodeCursor(row: { cursor_created_at: string; id: string }): string {
  return Buffer.from(JSON.stringify([row.cursor_created_at, row.id])).toString('base64url');
}

/** `isId` checks the id part: UUIDs by default, the audit trail's serial ids otherwise. */
export function decodeCursor(cursor: string, isId: (id: string) => boolean = isUuid): { createdAt: string; id: string } {
  try {
    const [createdAt, id] = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as [string, string];
    if (typeof createdAt !== 'string' || !/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/.test(createdAt)) throw new Error('bad cursor');
    if (typeof id !== 'string' || !isId(id)) throw new Error('bad cursor');
    return { createdAt, id };
  } catch {
    throw new DomainError('ValidationFailed', 'The cursor is not one this service issued.', { errors: [{ field: 'cursor', message: 'is not valid' }] });
  }
}

/** One page from `limit + 1` rows: the extra row only says whether there is a next page. */
export function keysetPage<Row extends { cursor_created_at: string; id: string }, View>(rows: Row[], limit: number, view: (row: Row) => View) {
  const page = rows.slice(0, limit);
  const last = page.at(-1);
  return { items: page.map(view), nextCursor: rows.length > limit && last ? encodeCursor(last) : null };
}
