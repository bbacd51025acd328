import { createRoute, OpenAPIHono } from '@hono/zod-openapi';
import { describe, expect, it } from 'vitest';
import { bootstrapOnly, requires, routeRequirements } from '../src/api/api-keys/security.js';
import { bearer } from '../src/api/schemas.js';

/** The scope a route declares in its OpenAPI security is the one the middleware checks; anything else is for ADMIN_API_KEY alone. */
describe('route requirements for named keys', () => {
  const app = new OpenAPIHono();
  const route = (method: 'get' | 'post', path: string, security?: { [scheme: string]: string[] }[]) =>
    app.openapi(createRoute({ method, path, ...(security ? { security } : {}), responses: { 200: { description: 'ok' } } }), (c) => c.text('ok'));
  route('post', '/api/v1/webhooks', requires('webhooks:write'));
  route('get', '/api/v1/webhooks/{id}', requires('users:read'));
  route('post', '/api/v1/keys', bootstrapOnly);
  route('get', '/api/v1/plain', bearer);
  route('get', '/api/v1/undeclared');
  app.get('/api/v1/outside-the-document', (c) => c.text('ok'));
  const requirementOf = routeRequirements(app);

  it('takes the scope from the route, path parameters included', () => {
    expect(requirementOf('POST', '/api/v1/webhooks')).toEqual({ kind: 'scope', scope: 'webhooks:write' });
    expect(requirementOf('GET', '/api/v1/webhooks/123')).toEqual({ kind: 'scope', scope: 'users:read' });
    expect(requirementOf('HEAD', '/api/v1/webhooks/123')).toEqual({ kind: 'scope', scope: 'users:read' });
  });

  it('fails closed: no scope declared, or no route in the document, means the bootstrap key only', () => {
    for (const [method, path] of [['POST', '/api/v1/keys'], ['GET', '/api/v1/plain'], ['GET', '/api/v1/undeclared'], ['GET', '/api/v1/outside-the-document']]) {
      expect(requirementOf(method!, path!), `${method} ${path}`).toEqual({ kind: 'bootstrap' });
    }
  });

  it('has nothing to say where no route answers (the 404 or 405 follows)', () => {
    expect(requirementOf('GET', '/api/v1/nothing')).toBeUndefined();
    expect(requirementOf('DELETE', '/api/v1/webhooks')).toBeUndefined();
  });
});
