import { createRoute, z, type OpenAPIHono } from '@hono/zod-openapi';
import type { AppDeps } from '../../deps.js';
import {
  createWebhookEndpoint,
  deleteWebhookEndpoint,
  getWebhookEndpoint,
  listWebhookDeliveries,
  listWebhookEndpoints,
  redeliverWebhook,
  updateWebhookEndpoint,
} from '../../webhooks/webhook.service.js';
import { sendTestEvent } from '../../webhooks/test-event.js';
import { admission } from '../admission.js';
import { actorOf, type ApiEnv } from '../middleware.js';
import { requires } from '../api-keys/security.js';
import { actorHeader, adminProblems, bodylessPostProblems, bodyProblems, json, noBody, problem } from '../schemas.js';
import {
  NewWebhookEndpoint,
  PageQuery,
  WebhookDeliverySchema,
  WebhookEndpointEdit,
  WebhookEndpointEdited,
  WebhookEndpointSchema,
  WebhookEndpointWithSecret,
  WebhookTestResult,
} from './schemas.js';

// Any id that names no endpoint is a 404, however it is spelled: only UUIDs are looked up.
const idParam = { params: z.object({ id: z.string() }) };
const tags = ['Webhooks'];
const notFound = { 404: problem('No such webhook endpoint') };

const listRoute = createRoute({
  method: 'get',
  path: '/api/v1/webhooks',
  tags,
  summary: 'The webhook endpoints, newest first',
  security: requires('webhooks:write'),
  request: { query: PageQuery },
  responses: {
    200: json(z.object({ items: z.array(WebhookEndpointSchema), nextCursor: z.string().nullable() }), 'A page of endpoints'),
    ...adminProblems,
    422: problem('Invalid query'),
  },
});

const createEndpointRoute = createRoute({
  method: 'post',
  path: '/api/v1/webhooks',
  tags,
  summary: 'Register an endpoint for signed webhooks (Standard Webhooks); the secret is shown once',
  security: requires('webhooks:write'),
  request: { ...actorHeader, body: { content: { 'application/json': { schema: NewWebhookEndpoint } }, required: true } },
  responses: {
    201: json(WebhookEndpointWithSecret, 'Registered; keep the secret, it is not shown again'),
    ...adminProblems,
    ...bodyProblems,
  },
});

const getRoute = createRoute({
  method: 'get',
  path: '/api/v1/webhooks/{id}',
  tags,
  summary: 'One endpoint, with its status (disabled after failing for WEBHOOK_RETRY_WINDOW)',
  security: requires('webhooks:write'),
  request: idParam,
  responses: { 200: json(WebhookEndpointSchema, 'The endpoint'), ...adminProblems, ...notFound },
});

const editRoute = createRoute({
  method: 'patch',
  path: '/api/v1/webhooks/{id}',
  tags,
  summary: 'Change URL, events, description or secret; enable or disable',
  security: requires('webhooks:write'),
  request: { ...idParam, ...actorHeader, body: { content: { 'application/json': { schema: WebhookEndpointEdit } }, required: true } },
  responses: { 200: json(WebhookEndpointEdited, 'The endpoint; with the secret if it changed'), ...adminProblems, ...bodyProblems, ...notFound },
});

const deleteRoute = createRoute({
  method: 'delete',
  path: '/api/v1/webhooks/{id}',
  tags,
  summary: 'Remove an endpoint and its delivery log; nothing more is sent to it',
  security: requires('webhooks:write'),
  request: { ...idParam, ...actorHeader },
  responses: { 204: { description: 'Removed' }, ...adminProblems, ...notFound, 413: problem('A body was sent, and it is larger than 64 KiB') },
});

const deliveriesRoute = createRoute({
  method: 'get',
  path: '/api/v1/webhooks/{id}/deliveries',
  tags,
  summary: "The endpoint's delivery log, newest first: status, attempts, the last answer",
  security: requires('webhooks:write'),
  request: { ...idParam, query: PageQuery },
  responses: {
    200: json(z.object({ items: z.array(WebhookDeliverySchema), nextCursor: z.string().nullable() }), 'A page of deliveries'),
    ...adminProblems,
    ...notFound,
    422: problem('Invalid query'),
  },
});

const redeliverRoute = createRoute({
  method: 'post',
  path: '/api/v1/webhooks/{id}/deliveries/{deliveryId}/redeliver',
  tags,
  summary: 'Send the event again (same webhook-id), after what is already queued for that user',
  security: requires('webhooks:write'),
  request: { params: z.object({ id: z.string(), deliveryId: z.string() }), ...actorHeader, ...noBody },
  responses: {
    202: json(WebhookDeliverySchema, 'The new delivery, queued'),
    ...adminProblems,
    ...bodylessPostProblems,
    404: problem('No such webhook endpoint or delivery'),
    409: problem('The endpoint is disabled; enable it first'),
  },
});

const testRoute = createRoute({
  method: 'post',
  path: '/api/v1/webhooks/{id}/test',
  tags,
  summary: 'Send a signed webhook.test event now and see what the receiver answered',
  description:
    'Goes through the same address guard, signing (every secret that signs now) and WEBHOOK_TIMEOUT as a delivery, to the endpoint whether it is enabled or not. Not a delivery: no retries, not in the delivery log, no effect on the failure count. 200 whatever the receiver did; `delivered` says whether it answered 2xx.',
  security: requires('webhooks:write'),
  request: { ...idParam, ...actorHeader, ...noBody },
  responses: {
    200: json(WebhookTestResult, "What the receiver did with the test event"),
    ...adminProblems,
    ...bodylessPostProblems,
    ...notFound,
    503: problem("The endpoint's secret cannot be opened with EMAIL_ENCRYPTION_KEY, or four tests are already running (Retry-After)"),
  },
});

export function registerWebhookRoutes(app: OpenAPIHono<ApiEnv>, deps: AppDeps) {
  app.openapi(listRoute, async (c) => c.json(await listWebhookEndpoints(deps, c.req.valid('query')), 200));
  app.openapi(createEndpointRoute, async (c) => c.json(await createWebhookEndpoint(deps, c.req.valid('json'), actorOf(c)), 201));
  app.openapi(getRoute, async (c) => c.json(await getWebhookEndpoint(deps, c.req.valid('param').id), 200));
  app.openapi(editRoute, async (c) => c.json(await updateWebhookEndpoint(deps, c.req.valid('param').id, c.req.valid('json'), actorOf(c)), 200));
  app.openapi(deleteRoute, async (c) => {
    await deleteWebhookEndpoint(deps, c.req.valid('param').id, actorOf(c));
    return c.body(null, 204);
  });
  // Each test holds a request and an outbound socket for up to WEBHOOK_TIMEOUT: a few at a time.
  const tests = admission('webhook tests', 4);
  app.openapi(testRoute, async (c) => c.json(await tests.run(() => sendTestEvent(deps, c.req.valid('param').id, actorOf(c), c.req.raw.signal)), 200));
  app.openapi(deliveriesRoute, async (c) => c.json(await listWebhookDeliveries(deps, c.req.valid('param').id, c.req.valid('query')), 200));
  app.openapi(redeliverRoute, async (c) => {
    const { id, deliveryId } = c.req.valid('param');
    return c.json(await redeliverWebhook(deps, id, deliveryId, actorOf(c).name), 202);
  });
}
