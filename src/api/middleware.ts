import { createHash, timingSafeEqual } from 'node:crypto';
import type { Context, Hono, MiddlewareHandler } from 'hono';
import { METHOD_NAME_ALL } from 'hono/router';
import { TrieRouter } from 'hono/router/trie-router';
import { bodyLimit } from 'hono/body-limit';
import { checkNamedKey } from '../api-keys/api-key.service.js';
import { BOOTSTRAP_KEY, type Actor } from '../audit/actor.js';
import type { AppDeps } from '../deps.js';
import { actorFromHeaders } from './actor-header.js';
import { DomainError } from '../errors.js';
import type { Scope } from '../api-keys/scopes.js';
import type { Requirement } from './api-keys/security.js';

/**
 * `principal`: which key authenticated the request (a digest), e.g. to scope Idempotency-Keys.
 * `apiKey`: `bootstrap` for ADMIN_API_KEY, else the named key's id; recorded beside the actor.
 */
export type ApiEnv = { Variables: { actor: string | null; principal: string; apiKey: string; scopes: readonly Scope[] | 'all' } };

const digest = (s: string) => createHash('sha256').update(s).digest();

/**
 * Bearer keys: the bootstrap keys (ADMIN_API_KEY) compared as fixed-length digests in
 * constant time and allowed everything; any other key looked up by its hash, refused once
 * revoked (401), and allowed only the operations whose scope it holds (403 naming the scope).
 * Runs before the body is read, so a caller without the right key learns nothing else.
 */
export function authenticate(deps: AppDeps, requirementOf: (method: string, path: string) => Requirement | undefined): MiddlewareHandler<ApiEnv> {
  const digests = deps.adminKeys.map(digest);
  return async (c, next) => {
    const header = c.req.header('authorization') ?? '';
    const match = /^Bearer\s+(\S+)$/i.exec(header);
    if (!match) throw new DomainError('Unauthorized', 'Send an API key as "Authorization: Bearer <key>".');
    const presented = digest(match[1]!);
    let apiKey = BOOTSTRAP_KEY;
    let granted: readonly Scope[] | 'all' = 'all';
    if (!digests.some((d) => timingSafeEqual(d, presented))) {
      const named = await checkNamedKey(deps, match[1]!);
      if (named.outcome === 'revoked') throw new DomainError('Unauthorized', 'This API key was revoked.');
      if (named.outcome === 'unknown') throw new DomainError('Unauthorized', 'Send an API key as "Authorization: Bearer <key>".');
      const need = requirementOf(c.req.method, c.req.path);
      if (need?.kind === 'bootstrap') {
        throw new DomainError('MissingScope', 'Only the bootstrap key (ADMIN_API_KEY) may do this; no scope of a named key allows it.', { requiredScope: null });
      }
      if (need?.kind === 'scope' && !named.scopes.includes(need.scope)) {
        throw new DomainError('MissingScope', `The API key "${named.name}" lacks the scope "${need.scope}".`, { requiredScope: need.scope });
      }
      apiKey = named.id;
      granted = named.scopes;
    }
    // X-Actor names the staff member acting, for the audit trail (decoding and reserved names: actor-header.ts).
    c.set('actor', actorFromHeaders(c.req.header('x-actor'), c.req.header('x-actor*')) ?? 'api');
    c.set('principal', presented.toString('hex'));
    c.set('apiKey', apiKey);
    c.set('scopes', granted);
    await next();
  };
}

/** Who acts (X-Actor, `api` without it) and through which key, for the services to record. */
export const actorOf = (c: Context<ApiEnv>): Actor => ({ name: c.get('actor') ?? 'api', key: c.get('apiKey') ?? null });

const JSON_TYPE = /^application\/([\w.-]+\+)?json\s*(;|$)/i;

/** A body that is not JSON is refused with 415 rather than silently read as `{}`. */
export const requireJsonBody: MiddlewareHandler = async (c, next) => {
  if (['POST', 'PUT', 'PATCH'].includes(c.req.method)) {
    const length = c.req.header('content-length');
    const hasBody = (length !== undefined && length !== '0') || c.req.header('transfer-encoding') !== undefined;
    if (hasBody && !JSON_TYPE.test(c.req.header('content-type') ?? '')) {
      throw new DomainError('UnsupportedMediaType', 'Send the body as application/json.');
    }
  }
  await next();
};

export const limitBody = (maxSize: number) =>
  bodyLimit({
    maxSize,
    onError: () => {
      throw new DomainError('PayloadTooLarge', `The request body exceeds ${maxSize} bytes.`);
    },
  });

/** Admin answers and answers about users are personal: no cache may keep them. */
export const noStore: MiddlewareHandler = async (c, next) => {
  await next();
  if (!c.res.headers.has('cache-control')) c.res.headers.set('cache-control', 'no-store');
};

const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'] as const;

/**
 * The methods a path answers to, from the app's routes (middleware excluded), so that a
 * wrong method on a real path is a 405 with `Allow` (RFC 9110 15.5.6), not a 404. Built on
 * first use, when every route is registered.
 */
export function allowedMethods(app: Hono<any>): (path: string) => string[] {
  let router: TrieRouter<true> | undefined;
  return (path) => {
    if (!router) {
      router = new TrieRouter<true>();
      for (const route of app.routes) if (route.method !== METHOD_NAME_ALL) router.add(route.method, route.path, true);
    }
    const matched = METHODS.map((method) => ({ method, hits: router!.match(method === 'HEAD' ? 'GET' : method, path)[0] })).filter((m) => m.hits.length > 0);
    // A path some route names literally (/invitations/bulk) is that resource, not an {id} of
    // another one: the methods of routes that only match it through a parameter do not count.
    const literal = (m: (typeof matched)[number]) => m.hits.some(([, params]) => Object.keys(params).length === 0);
    const found = (matched.some(literal) ? matched.filter(literal) : matched).map((m) => m.method);
    return found.length ? [...found, 'OPTIONS'] : [];
  };
}
