import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import type { Payload, PayloadCodec } from '@temporalio/common';
import { Hono, type Context } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { cors } from 'hono/cors';
import { z } from 'zod';

/**
 * Temporal's codec-server protocol, so Temporal UI (and `temporal … --codec-endpoint`) can show
 * the payloads our codec sealed: `POST /decode` and `POST /encode` take and give
 * `{"payloads":[{"metadata":{k: base64},"data": base64}]}` (proto3 JSON of Payload).
 *
 * It answers anyone who reaches it, because Temporal UI can only pass an access token when it
 * runs with OIDC (then put this behind the same login as the UI). So it has a port of its own,
 * bound to loopback by default and never mixed into the public API; CORS admits only the UI's
 * origins, and JSON bodies force the browser's preflight. What it can reveal is limited to
 * ciphertext one already took out of Temporal.
 */
const jsonPayload = z.object({
  metadata: z.record(z.string(), z.string()).nullish(),
  data: z.string().nullish(),
});
const body = z.object({ payloads: z.array(jsonPayload) });
type JsonPayload = z.infer<typeof jsonPayload>;

const fromJson = ({ metadata, data }: JsonPayload): Payload => ({
  metadata: Object.fromEntries(Object.entries(metadata ?? {}).map(([k, v]) => [k, new Uint8Array(Buffer.from(v, 'base64'))])),
  data: new Uint8Array(Buffer.from(data ?? '', 'base64')),
});
const toJson = ({ metadata, data }: Payload): JsonPayload => ({
  metadata: Object.fromEntries(Object.entries(metadata ?? {}).map(([k, v]) => [k, Buffer.from(v).toString('base64')])),
  data: Buffer.from(data ?? new Uint8Array()).toString('base64'),
});

export interface CodecEndpointOptions {
  codec: PayloadCodec;
  /** The namespace whose keys we hold; payloads of any other pass through untouched. */
  namespace: string;
  /** Origins of Temporal UI (scheme://host:port). */
  allowedOrigins: string[];
}

const titles = { 400: 'Bad request', 403: 'Origin not allowed', 415: 'Unsupported media type', 422: 'Cannot convert payloads' } as const;
const problem = (c: Context, status: keyof typeof titles, detail: string) =>
  c.json({ type: 'about:blank', title: titles[status], status, detail }, status, { 'content-type': 'application/problem+json' });

export function createCodecApp(options: CodecEndpointOptions) {
  const app = new Hono();
  app.use(
    '*',
    cors({
      origin: options.allowedOrigins,
      allowMethods: ['POST', 'OPTIONS'],
      // Temporal UI sends X-Namespace, and Authorization when told to pass its access token.
      allowHeaders: ['content-type', 'x-namespace', 'authorization'],
      credentials: true,
      maxAge: 600,
    }),
  );
  // CORS only stops a browser from reading the answer; the payloads would still be converted.
  // A page of another origin (or one reached by DNS rebinding) gets nothing done here at all.
  app.use('*', async (c, next) => {
    const origin = c.req.header('origin');
    if (origin !== undefined && !options.allowedOrigins.includes(origin)) return problem(c, 403, `Origin ${origin} may not use this codec endpoint.`);
    await next();
  });
  // Temporal caps one payload at 2 MB; a page of history asks for a few at once.
  app.use('*', bodyLimit({ maxSize: 8 * 1024 * 1024, onError: (c) => c.json({ title: 'Payload Too Large', status: 413 }, 413) }));

  for (const direction of ['encode', 'decode'] as const) {
    app.post(`/${direction}`, async (c) => {
      if (!/^application\/json\s*(;|$)/i.test(c.req.header('content-type') ?? '')) return problem(c, 415, 'Send the payloads as application/json.');
      let parsed: z.infer<typeof body>;
      try {
        parsed = body.parse(await c.req.json());
      } catch {
        return problem(c, 400, 'Expected {"payloads":[{"metadata":{…},"data":"…"}]} with base64 values.');
      }
      const namespace = c.req.header('x-namespace');
      if (namespace && namespace !== options.namespace) return c.json(parsed);
      try {
        const converted = await options.codec[direction](parsed.payloads.map(fromJson));
        return c.json({ payloads: converted.map(toJson) });
      } catch (error) {
        return problem(c, 422, (error as Error).message);
      }
    });
  }
  return app;
}

export interface CodecEndpoint {
  /** What Temporal UI's "codec endpoint" is set to. */
  url: string;
  close(): Promise<void>;
}

export async function serveCodecEndpoint(options: CodecEndpointOptions & { host: string; port: number }): Promise<CodecEndpoint> {
  const server = serve({ fetch: createCodecApp(options).fetch, hostname: options.host, port: options.port });
  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve);
    server.once('error', reject);
  });
  const { port } = server.address() as AddressInfo;
  const host = options.host.includes(':') ? `[${options.host}]` : options.host;
  return {
    url: `http://${host === '0.0.0.0' || host === '[::]' ? '127.0.0.1' : host}:${port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
