import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { recordAudit } from '../audit/audit.repository.js';
import type { Actor } from '../audit/actor.js';
import type { ApiKeyRow } from '../db/schema.js';
import type { AppDeps } from '../deps.js';
import { DomainError } from '../errors.js';
import { sameHash } from '../links/tokens.js';
import { isUuid } from '../users/ids.js';
import { findApiKeyByHash, findApiKeyById, insertApiKey, listApiKeyRows, revokeApiKeyRow, touchApiKey } from './api-key.repository.js';
import { isScope, type Scope } from './scopes.js';

/** Recognisable in logs, config files and secret scanners: `isk_` + 256 random bits. */
export const API_KEY_PREFIX = 'isk_';
/** How much of a key the list shows: enough to tell keys apart, far too little to guess the rest. */
const SHOWN_LENGTH = API_KEY_PREFIX.length + 8;
/** `lastUsedAt` is exact to this many seconds; finer would cost a write per request. */
const LAST_USED_THROTTLE_SECONDS = 60;

/** SHA-256 suffices: the key is 256 random bits, so there is nothing for a slow hash to protect. */
const hashOf = (key: string) => createHash('sha256').update(key).digest('hex');

function apiKeyView(row: ApiKeyRow) {
  return {
    id: row.id,
    name: row.name,
    scopes: row.scopes.filter(isScope),
    prefix: row.prefix,
    createdAt: new Date(row.created_at).toISOString(),
    createdBy: row.created_by,
    lastUsedAt: row.last_used_at ? new Date(row.last_used_at).toISOString() : null,
    revokedAt: row.revoked_at ? new Date(row.revoked_at).toISOString() : null,
  };
}

/** A new key; the answer is the only time the key itself is ever shown. */
export async function createApiKey(deps: AppDeps, command: { name: string; scopes: Scope[] }, actor: Actor) {
  const key = `${API_KEY_PREFIX}${randomBytes(32).toString('base64url')}`;
  const row = await deps.db.transaction().execute(async (tx) => {
    const created = await insertApiKey(tx, {
      id: randomUUID(),
      name: command.name.trim(),
      scopes: [...new Set(command.scopes)],
      key_hash: hashOf(key),
      prefix: key.slice(0, SHOWN_LENGTH),
      created_by: actor.name,
    });
    await recordAudit(tx, { actor, action: 'api_key.created', userId: null, details: { apiKeyId: created.id, name: created.name, scopes: created.scopes } });
    return created;
  });
  return { ...apiKeyView(row), key };
}

export async function listApiKeys(deps: AppDeps) {
  return { items: (await listApiKeyRows(deps.db)).map(apiKeyView) };
}

/** Revoking is final and takes effect on the next request; revoking twice changes nothing. */
export async function revokeApiKey(deps: AppDeps, id: string, actor: Actor): Promise<void> {
  if (!isUuid(id) || !(await findApiKeyById(deps.db, id))) throw new DomainError('NotFound', `No API key ${id}.`);
  await deps.db.transaction().execute(async (tx) => {
    const revoked = await revokeApiKeyRow(tx, id, actor.name);
    if (revoked) await recordAudit(tx, { actor, action: 'api_key.revoked', userId: null, details: { apiKeyId: id, name: revoked.name } });
  });
}

export type NamedKeyCheck = { outcome: 'valid'; id: string; name: string; scopes: Scope[] } | { outcome: 'revoked' } | { outcome: 'unknown' };

/** Looks a presented named key up by its hash and records the use (throttled). */
export async function checkNamedKey(deps: AppDeps, presented: string): Promise<NamedKeyCheck> {
  if (!presented.startsWith(API_KEY_PREFIX)) return { outcome: 'unknown' };
  const hash = hashOf(presented);
  const row = await findApiKeyByHash(deps.db, hash);
  // Compared again in constant time, as link tokens are: the decision never rests on how the
  // index or the driver compares strings.
  if (!row || !sameHash(row.key_hash, hash)) return { outcome: 'unknown' };
  if (row.revoked_at) return { outcome: 'revoked' };
  const lastUsed = row.last_used_at ? new Date(row.last_used_at).getTime() : 0;
  // The row in hand already says whether a write is due; the update re-checks it for parallel requests.
  if (Date.now() - lastUsed >= LAST_USED_THROTTLE_SECONDS * 1000) await touchApiKey(deps.db, row.id, LAST_USED_THROTTLE_SECONDS);
  return { outcome: 'valid', id: row.id, name: row.name, scopes: row.scopes.filter(isScope) };
}
