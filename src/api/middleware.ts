import { createHash, timingSafeEqual } from 'node:crypto';
import type { Context, Hono, MiddlewareHandler } from 'hono';
import { METHOD_NAME_ALL } from 'hono/router';
import { TrieRouter } from 'hono/router/trie-router';
import { bodyLimit } from 'hono/body-limit';
import { DomainError } from '../errors.js';

/** `principal`: which key authenticated the request (a digest), e.g. to scope Idempotency-Keys. */
export type ApiEnv = { Variables: { actor: string | null; principal: string } };

const digest = (s: string) => createHash('sha256').update(s).digest();

/** Bearer keys compared as fixed-length digests in constant time. */
export function requireAdmin(keys: string[]): MiddlewareHandler<ApiEnv> {
  const digests = keys.map(digest);
  return async (c, next) => {
    const header = c.req.header('authorization') ?? '';
    const match = /^Bearer\s+(\S+)$/i.exec(header);
    const presented = match ? digest(match[1]!) : undefined;
    const ok = presented !== undefined && digests.some((d) => timingSafeEqual(d, presented));
    if (!ok) throw new DomainError('Unauthorized', 'Send the admin key as "Authorization: Bearer <key>".');
    // X-Actor names the staff member acting, for the audit trail; keep it printable and short.
    const actor = c.req.header('x-actor')?.replace(/[\p{C}]/gu, '').trim().slice(0, 200);
    c.set('actor', actor || 'api');
    c.set('principal', presented.toString('hex'));
    await next();
  };
}

export const actorOf = (c: Context<ApiEnv>) => c.get('actor') ?? null;

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
    const found = METHODS.filter((method) => router!.match(method === 'HEAD' ? 'GET' : method, path)[0].length > 0);
    return found.length ? [...found, 'OPTIONS'] : [];
  };
}
