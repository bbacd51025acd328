import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import type { Hono } from 'hono';

// Swagger UI served from node_modules: the docs work on a machine without internet access.
const dist = path.dirname(createRequire(import.meta.url).resolve('swagger-ui-dist/package.json'));
const files: Record<string, string> = {
  'swagger-ui.css': 'text/css; charset=utf-8',
  'swagger-ui-bundle.js': 'text/javascript; charset=utf-8',
};

export function registerDocs(app: Hono<any>) {
  app.get('/docs', (c) =>
    c.html(`<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Invitation service API</title>
<link rel="stylesheet" href="/docs/assets/swagger-ui.css"></head>
<body><div id="swagger-ui"></div><script src="/docs/assets/swagger-ui-bundle.js"></script><script src="/docs/assets/init.js"></script></body></html>`),
  );
  app.get('/docs/assets/init.js', (c) =>
    c.body(`SwaggerUIBundle({ url: '/api/v1/openapi.json', dom_id: '#swagger-ui' });`, 200, { 'content-type': 'text/javascript; charset=utf-8' }),
  );
  app.get('/docs/assets/:name', async (c) => {
    const name = c.req.param('name');
    const type = Object.hasOwn(files, name) ? files[name] : undefined;
    if (!type) return c.notFound();
    return c.body(await readFile(path.join(dist, name)), 200, { 'content-type': type, 'cache-control': 'public, max-age=3600' });
  });
}
