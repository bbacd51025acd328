import { createRoute, z, type OpenAPIHono } from '@hono/zod-openapi';
import type { AppDeps } from '../../deps.js';
import {
  getTemplate,
  previewTemplate,
  resetTemplate,
  saveTemplate,
  templateHistory,
  templateTypeOf,
} from '../../email-templates/template.service.js';
import { templateTypes } from '../../email-templates/variables.js';
import { requires } from '../api-keys/security.js';
import { actorOf, type ApiEnv } from '../middleware.js';
import { adminProblems, bodyProblems, json, jsonBody, problem, unavailable } from '../schemas.js';
import { PreviewBody, PreviewSchema, TemplateBody, TemplateSchema, VersionSchema } from './schemas.js';

const params = z.object({
  type: z.string().max(64).openapi({ param: { name: 'type', in: 'path' }, example: 'user_invitation', description: templateTypes.join(' | ') }),
});
const query = z.object({ locale: z.enum(['de', 'en']).optional().openapi({ description: 'The template of this language (default: the configured DEFAULT_LOCALE)' }) }).strict();
const path = '/api/v1/email-templates/{type}';
const common = { tags: ['Email templates'], security: requires('templates:write'), request: { params, query } };
const notFound = { ...adminProblems, 404: problem('No such template type'), 422: problem('Invalid type or locale') };

const getRoute = createRoute({
  ...common,
  method: 'get',
  path,
  summary: 'The template in force (R6): customised, or the built-in default written in the template format',
  responses: { 200: json(TemplateSchema, 'The template'), ...notFound },
});

const putRoute = createRoute({
  ...common,
  method: 'put',
  path,
  summary: 'Customise a template: a new version, recorded with X-Actor and time',
  request: { ...common.request, ...jsonBody(TemplateBody) },
  responses: {
    ...adminProblems,
    ...bodyProblems,
    ...unavailable,
    200: json(TemplateSchema.extend({ sanitized: z.boolean().openapi({ description: 'The stored body differs from the one sent: markup outside the allowed subset was removed, or spelling normalised' }) }), 'Saved as a new version'),
    404: problem('No such template type'),
    422: problem('The personal link variable is missing, a variable does not exist, a link leads elsewhere than PUBLIC_BASE_URL or TEMPLATE_LINK_HOSTS (named in errors), or the fields are invalid'),
  },
});

const deleteRoute = createRoute({
  ...common,
  method: 'delete',
  path,
  summary: 'Back to the built-in default, as a new version (nothing changes when the default is in force)',
  responses: {
    200: json(TemplateSchema, 'The built-in default, now in force'),
    ...notFound,
    413: problem('A body was sent, and it is larger than 64 KiB'),
    ...unavailable,
  },
});

const versionsRoute = createRoute({
  ...common,
  method: 'get',
  path: `${path}/versions`,
  summary: 'Every version of a template, newest first, with who and when',
  responses: { 200: json(z.object({ items: z.array(VersionSchema) }), 'The versions'), ...notFound },
});

const previewRoute = createRoute({
  ...common,
  method: 'post',
  path: `${path}/preview`,
  summary: 'Render the template in force, or a draft sent in the body, with sample data',
  request: { ...common.request, body: { content: { 'application/json': { schema: PreviewBody } }, required: false } },
  responses: {
    ...adminProblems,
    ...bodyProblems,
    200: json(PreviewSchema, 'The rendered mail'),
    404: problem('No such template type'),
    422: problem('The draft is not valid (as for PUT: among others, a link to a host not allowed)'),
  },
});

export function registerEmailTemplateRoutes(app: OpenAPIHono<ApiEnv>, deps: AppDeps) {
  // Without ?locale: the platform's DEFAULT_LOCALE, the language its invitations default to.
  const orDefault = (locale: 'de' | 'en' | undefined) => locale ?? deps.config.DEFAULT_LOCALE;
  app.openapi(getRoute, async (c) => {
    return c.json(await getTemplate(deps, templateTypeOf(c.req.valid('param').type), orDefault(c.req.valid('query').locale)), 200);
  });
  app.openapi(putRoute, async (c) => {
    const type = templateTypeOf(c.req.valid('param').type);
    return c.json(await saveTemplate(deps, type, orDefault(c.req.valid('query').locale), c.req.valid('json'), actorOf(c)), 200);
  });
  app.openapi(deleteRoute, async (c) => {
    const type = templateTypeOf(c.req.valid('param').type);
    return c.json(await resetTemplate(deps, type, orDefault(c.req.valid('query').locale), actorOf(c)), 200);
  });
  app.openapi(versionsRoute, async (c) => {
    const type = templateTypeOf(c.req.valid('param').type);
    return c.json({ items: await templateHistory(deps, type, orDefault(c.req.valid('query').locale)) }, 200);
  });
  app.openapi(previewRoute, async (c) => {
    const type = templateTypeOf(c.req.valid('param').type);
    const draft = (c.req.valid('json') as z.infer<typeof PreviewBody> | undefined) ?? {};
    const content = draft.subject !== undefined && draft.body !== undefined ? { subject: draft.subject, body: draft.body } : undefined;
    return c.json(await previewTemplate(deps, type, orDefault(c.req.valid('query').locale), content), 200);
  });
}
