import type { OpenAPIHono } from '@hono/zod-openapi';
import { METHOD_NAME_ALL } from 'hono/router';
import { TrieRouter } from 'hono/router/trie-router';
import type { Scope } from '../../api-keys/scopes.js';
import { DomainError } from '../../errors.js';

/**
 * Which key may call which operation is declared on the route itself, in its OpenAPI
 * `security`, so the document and the check cannot drift apart:
 *
 *   security: requires('webhooks:write')   // ADMIN_API_KEY, or a named key holding that scope
 *   security: bootstrapOnly                // ADMIN_API_KEY alone (managing keys)
 *
 * An admin route that declares no scope, or is not in the document at all, is for the
 * bootstrap key alone: a named key is refused unless a scope was granted on purpose.
 */
export const requires = (scope: Scope) => [{ bearerAuth: [scope] }];
export const bootstrapOnly = [{ bootstrapKey: [] }];

export type Requirement = { kind: 'scope'; scope: Scope } | { kind: 'bootstrap' };

/** What an operation requires; undefined when no route answers (a 404 or 405 follows). Built on first use. */
export function routeRequirements(app: OpenAPIHono<any>): (method: string, path: string) => Requirement | undefined {
  let router: TrieRouter<Requirement> | undefined;
  const build = () => {
    const built = new TrieRouter<Requirement>();
    const declared = new Map<string, Requirement>();
    for (const definition of app.openAPIRegistry.definitions) {
      if (definition.type !== 'route') continue;
      const { method, path, security } = definition.route;
      const scopes = security?.map((s) => s.bearerAuth).filter((granted) => granted !== undefined) ?? [];
      const scope = scopes.length === 1 && scopes[0]!.length === 1 ? (scopes[0]![0] as Scope) : undefined;
      declared.set(`${method.toUpperCase()} ${path.replace(/\{(\w+)\}/g, ':$1')}`, scope ? { kind: 'scope', scope } : { kind: 'bootstrap' });
    }
    for (const route of app.routes) {
      if (route.method === METHOD_NAME_ALL) continue;
      built.add(route.method, route.path, declared.get(`${route.method} ${route.path}`) ?? { kind: 'bootstrap' });
    }
    return built;
  };
  return (method, path) => {
    router ??= build();
    const [matches] = router.match(method === 'HEAD' ? 'GET' : method, path);
    return matches[0]?.[0];
  };
}

/**
 * Granting privileges is editing users: a staff flag or permissions set at invitation (single
 * or bulk) need `users:write` as well as `invitations:write`, the scope PATCH /users/{id}
 * needs to set the same fields. Otherwise an `invitations:write` key (a sign-up form, a CRM
 * sync) could mint administrators. Plain invitations (isStaff false or absent, no
 * permissions) need `invitations:write` alone.
 */
export const PRIVILEGE_SCOPE: Scope = 'users:write';

export const grantsPrivileges = (row: { isStaff?: boolean | undefined; permissions?: readonly string[] | undefined }) =>
  row.isStaff === true || (row.permissions?.length ?? 0) > 0;

/** 403 naming `users:write` when a named key without it asks to grant privileges. */
export function requirePrivilegeScope(granted: readonly Scope[] | 'all', rows: readonly Parameters<typeof grantsPrivileges>[0][]) {
  if (granted === 'all' || granted.includes(PRIVILEGE_SCOPE)) return;
  if (!rows.some(grantsPrivileges)) return;
  throw new DomainError('MissingScope', `Setting isStaff or permissions on an invitation needs the scope "${PRIVILEGE_SCOPE}" as well.`, { requiredScope: PRIVILEGE_SCOPE });
}
