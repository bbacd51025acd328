import { Validator } from '@seriousme/openapi-schema-validator';
import { describe, expect, it } from 'vitest';
import { createApp } from '../src/api/app.js';
import { createLogger } from '../src/log.js';
import { ADMIN_KEY, testConfig } from './support/harness.js';

/**
 * The served OpenAPI document on its own: valid OpenAPI 3.1, patterns that mean in every
 * JSON Schema tool what the service checks, and every status the middleware can give.
 * Building the document touches neither the database nor Temporal.
 */
async function documentOf(config: Record<string, string> = {}) {
  const deps = { db: {} as never, temporal: {} as never, config: testConfig(config), log: createLogger('silent'), adminKeys: [ADMIN_KEY] };
  const res = await createApp(deps).request('/api/v1/openapi.json');
  expect(res.status).toBe(200);
  return (await res.json()) as any;
}

type Operation = { method: string; path: string; op: any };
const operationsOf = (doc: any): Operation[] =>
  Object.entries(doc.paths).flatMap(([path, item]: [string, any]) => Object.entries(item).map(([method, op]) => ({ method, path, op })));

/** Every schema object in the document with a `pattern`, with where it sits. */
function patternsIn(node: unknown, where = '#'): { where: string; pattern: string }[] {
  if (!node || typeof node !== 'object') return [];
  const own = typeof (node as any).pattern === 'string' ? [{ where, pattern: (node as any).pattern as string }] : [];
  return [...own, ...Object.entries(node).flatMap(([key, value]) => patternsIn(value, `${where}/${key}`))];
}

describe('the OpenAPI document', () => {
  it('is valid OpenAPI 3.1 and points nowhere outside the repository', async () => {
    const doc = await documentOf();
    const result = await new Validator().validate(doc);
    expect(result.errors ?? [], JSON.stringify(result.errors, null, 2)).toEqual([]);
    expect(result.valid).toBe(true);
    expect(JSON.stringify(doc)).not.toMatch(/shared\/|\.\.\//);
  });

  it('has patterns that are plain ECMA-262: no flags written into them', async () => {
    const patterns = patternsIn(await documentOf());
    expect(patterns.length).toBeGreaterThan(0);
    for (const { where, pattern } of patterns) {
      expect(() => new RegExp(pattern, 'u'), where).not.toThrow();
      expect(pattern, where).toMatch(/\$$/); // anchored, and not followed by "/u" or the like
    }
  });

  it('says "no control characters" on every free-text field the way the service checks it', async () => {
    const doc = await documentOf();
    const bodyOf = (path: string) => doc.paths[path].post.requestBody.content['application/json'].schema;
    const resolve = (schema: any) => (schema.$ref ? doc.components.schemas[schema.$ref.split('/').at(-1)] : schema);
    const query = Object.fromEntries(doc.paths['/api/v1/users'].get.parameters.map((p: any) => [p.name, p.schema]));
    const fields = {
      q: query.q,
      cursor: query.cursor,
      login: resolve(bodyOf('/api/v1/public/login')).properties.login,
      'accept token': resolve(bodyOf('/api/v1/public/invitations/accept')).properties.token,
      'inspect token': resolve(bodyOf('/api/v1/public/invitations/inspect')).properties.token,
      'reset inspect token': resolve(bodyOf('/api/v1/public/password-resets/inspect')).properties.token,
      'reset complete token': resolve(bodyOf('/api/v1/public/password-resets/complete')).properties.token,
    };
    for (const [name, schema] of Object.entries(fields)) {
      const pattern = new RegExp(schema.pattern, 'u');
      for (const fine of ['', 'plain text', 'Grüße aus Köln 🙂', 'a-b_c.d@example.com']) expect(pattern.test(fine), `${name}: ${fine}`).toBe(true);
      for (const control of ['\u0000', '\u0007', '\n', '\u001F', '\u007F', '\u0085', '\u009F']) {
        expect(pattern.test(`a${control}b`), `${name}: U+${control.charCodeAt(0).toString(16)}`).toBe(false);
      }
    }
    // The reset address is checked as an address, which is tighter than plain text.
    expect(resolve(bodyOf('/api/v1/public/password-resets')).properties.email).toMatchObject({ format: 'idn-email', maxLength: 254 });
  });

  it('documents the statuses every kind of operation can give', async () => {
    const doc = await documentOf();
    for (const { method, path, op } of operationsOf(doc)) {
      const statuses = Object.keys(op.responses);
      const label = `${method.toUpperCase()} ${path}`;
      if (op.security) expect(statuses, `${label}: 401 for a missing key`).toContain('401');
      if (op.requestBody) expect(statuses, `${label}: body problems`).toEqual(expect.arrayContaining(['400', '413', '415', '422']));
      if (path.startsWith('/api/v1/public/')) expect(statuses, `${label}: rate limit`).toContain('429');
      for (const [status, response] of Object.entries<any>(op.responses)) {
        if (Number(status) >= 400 && path !== '/readyz') expect(Object.keys(response.content ?? {}), `${label} ${status}`).toEqual(['application/problem+json']);
      }
    }
    const login = doc.paths['/api/v1/public/login'].post.responses;
    expect(Object.keys(login)).toEqual(expect.arrayContaining(['200', '401', '403', '422', '429']));
    for (const inspect of ['/api/v1/public/invitations/inspect', '/api/v1/public/password-resets/inspect']) {
      expect(Object.keys(doc.paths[inspect].post.responses)).toEqual(expect.arrayContaining(['200', '410', '422']));
    }
    for (const temporal of [['/api/v1/invitations', 'post'], ['/api/v1/users/{id}/reactivate', 'post'], ['/api/v1/public/password-resets', 'post']] as const) {
      expect(Object.keys(doc.paths[temporal[0]][temporal[1]].responses), temporal.join(' ')).toContain('503');
    }
  });

  it('says which key each admin operation needs, and that every one can answer 401 and 403', async () => {
    const doc = await documentOf();
    expect(Object.keys(doc.components.securitySchemes).sort()).toEqual(['bearerAuth', 'bootstrapKey']);
    const required: Record<string, string[]> = {};
    for (const { method, path, op } of operationsOf(doc)) {
      if (!op.security) continue;
      const label = `${method.toUpperCase()} ${path}`;
      expect(Object.keys(op.responses), label).toEqual(expect.arrayContaining(['401', '403']));
      required[label] = op.security.flatMap((s: Record<string, string[]>) => Object.entries(s).map(([scheme, roles]) => `${scheme}:${roles.join(',')}`));
    }
    // The mapping docs/integration.md's "API keys and scopes" documents, route by route.
    expect(required).toMatchObject({
      'POST /api/v1/invitations': ['bearerAuth:invitations:write'],
      'DELETE /api/v1/invitations/{id}': ['bearerAuth:invitations:write'],
      'GET /api/v1/users': ['bearerAuth:users:read'],
      'GET /api/v1/users/{id}': ['bearerAuth:users:read'],
      'PATCH /api/v1/users/{id}': ['bearerAuth:users:write'],
      'DELETE /api/v1/users/{id}': ['bearerAuth:users:write'],
      'POST /api/v1/users/{id}/reactivate': ['bearerAuth:users:write'],
      'GET /api/v1/emails': ['bearerAuth:users:read'],
      'GET /api/v1/emails/{id}': ['bearerAuth:users:read'],
      'POST /api/v1/emails/{id}/resend': ['bearerAuth:emails:write'],
      'GET /api/v1/email-templates/{type}': ['bearerAuth:templates:write'],
      'PUT /api/v1/email-templates/{type}': ['bearerAuth:templates:write'],
      'DELETE /api/v1/email-templates/{type}': ['bearerAuth:templates:write'],
      'GET /api/v1/audit-events': ['bearerAuth:audit:read'],
      'GET /api/v1/webhooks': ['bearerAuth:webhooks:write'],
      'POST /api/v1/webhooks': ['bearerAuth:webhooks:write'],
      'GET /api/v1/webhooks/{id}': ['bearerAuth:webhooks:write'],
      'PATCH /api/v1/webhooks/{id}': ['bearerAuth:webhooks:write'],
      'DELETE /api/v1/webhooks/{id}': ['bearerAuth:webhooks:write'],
      'GET /api/v1/webhooks/{id}/deliveries': ['bearerAuth:webhooks:write'],
      'POST /api/v1/webhooks/{id}/deliveries/{deliveryId}/redeliver': ['bearerAuth:webhooks:write'],
      'GET /api/v1/api-keys': ['bootstrapKey:'],
      'POST /api/v1/api-keys': ['bootstrapKey:'],
      'DELETE /api/v1/api-keys/{id}': ['bootstrapKey:'],
    });
    expect(doc.components.schemas.CreateApiKey.properties.scopes.items.enum).toEqual([
      'invitations:write', 'users:read', 'users:write', 'emails:write', 'templates:write', 'webhooks:write', 'audit:read',
    ]);
  });

  it('is as tight as the checks: username, email, the configured user types, permissions, locale, a non-empty edit', async () => {
    const doc = await documentOf({ USER_TYPES: 'member,partner' });
    const invite = doc.components.schemas.InviteRequest.properties;
    const edit = doc.components.schemas.UserEdit;
    for (const fields of [invite, edit.properties]) {
      expect(fields.username).toMatchObject({ minLength: 2, maxLength: 64 });
      const username = new RegExp(fields.username.pattern, 'u');
      for (const fine of ['erika.muster', 'Jörg_2', 'a+b-c']) expect(username.test(fine), fine).toBe(true);
      for (const bad of ['a@b', 'a b', 'ad\u200Dmin', 'adm\u202Ein', 'x\u3164y']) expect(username.test(bad), JSON.stringify(bad)).toBe(false);
      expect(fields.email).toMatchObject({ format: 'idn-email', maxLength: 254 });
      expect(fields.userType.enum).toEqual(['member', 'partner']);
      expect(fields.permissions.items.pattern).toBe('^[A-Za-z][A-Za-z0-9_.:-]{0,99}$');
    }
    expect(invite.locale.enum).toEqual(['de', 'en']);
    expect(edit.minProperties).toBe(1);
  });

  it('documents every API operation the app answers', async () => {
    const doc = await documentOf();
    const deps = { db: {} as never, temporal: {} as never, config: testConfig(), log: createLogger('silent'), adminKeys: [ADMIN_KEY] };
    const served = createApp(deps)
      .routes.filter((r) => r.method !== 'ALL' && r.path.startsWith('/api/v1/') && r.path !== '/api/v1/openapi.json')
      .map((r) => `${r.method.toLowerCase()} ${r.path.replace(/:(\w+)/g, '{$1}')}`);
    const documented = operationsOf(doc).map(({ method, path }) => `${method} ${path}`);
    expect([...new Set(served)].sort()).toEqual(documented.filter((op) => op.includes(' /api/v1/')).sort());
    expect(documented).toEqual(expect.arrayContaining(['get /healthz', 'get /readyz']));
    // Served on METRICS_PORT only (issue 15.5): not part of the public API.
    expect(documented).not.toContain('get /metrics');
  });
});
