import type { AppDeps } from '../deps.js';
import { decodeCursor, keysetPage } from '../paging.js';
import type { AuditAction } from './actions.js';
import { listAuditEvents, type AuditEventListRow, type AuditQuery } from './audit.repository.js';

export type AuditFilter = Omit<AuditQuery, 'after'> & { cursor?: string | undefined };

// bigserial ids, as postgres.js hands them over: decimal text within bigint's range.
const isSerialId = (id: string) => /^[1-9]\d{0,18}$/.test(id) && BigInt(id) <= 9223372036854775807n;

function auditEventView(row: AuditEventListRow) {
  return {
    id: String(row.id),
    at: new Date(row.at).toISOString(),
    action: row.action as AuditAction,
    actor: row.actor,
    userId: row.user_id,
    via: row.via,
    apiKey: row.api_key_id ? { id: row.api_key_id, name: row.api_key_name ?? '' } : null,
    details: row.details,
  };
}

/** The audit trail, newest first. */
export async function listAuditTrail(deps: AppDeps, filter: AuditFilter) {
  const { cursor, ...query } = filter;
  const rows = await listAuditEvents(deps.db, { ...query, limit: filter.limit + 1, after: cursor ? decodeCursor(cursor, isSerialId) : undefined });
  return keysetPage(rows, filter.limit, auditEventView);
}
