import { randomBytes } from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serveCodecEndpoint, type CodecEndpoint } from '../src/api/temporal-codec/routes.js';
import { freePort } from '../src/dev/ports.js';
import { startTemporalDevServer, type DevServer } from '../src/dev/temporal-dev-server.js';
import { dataConverterFor, parsePayloadKeys, PayloadEncryptionCodec } from '../src/temporal/payload-codec.js';
import { launchChromium, localContext } from './support/browser.js';

/**
 * What an operator sees: the dev server's own Temporal UI, told about our codec endpoint as
 * `npm start` does, shows a workflow's encrypted input in clear. Its own dev server, because
 * the run's shared one has no UI.
 */
const codec = new PayloadEncryptionCodec(parsePayloadKeys(`ui-test:${randomBytes(32).toString('base64')}`));
let endpoint: CodecEndpoint;
let dev: DevServer;
let uiOrigin: string;
let browser: Browser;
beforeAll(async () => {
  const uiPort = await freePort();
  uiOrigin = `http://127.0.0.1:${uiPort}`;
  endpoint = await serveCodecEndpoint({ codec, namespace: 'default', allowedOrigins: [uiOrigin], host: '127.0.0.1', port: 0 });
  dev = await startTemporalDevServer({ port: await freePort(), uiPort, namespace: 'default', uiCodecEndpoint: endpoint.url });
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
  await dev?.stop();
  await endpoint?.close();
});

describe('Temporal UI with the codec endpoint', () => {
  it("shows a workflow's encrypted input decoded", async () => {
    const client = new Client({ connection: await Connection.connect({ address: dev.address }), dataConverter: dataConverterFor(codec) });
    const email = `ui-${randomBytes(3).toString('hex')}@example.com`;
    try {
      // No worker needed: the input is in the history from the start.
      const handle = await client.workflow.start('invitationWorkflow', { taskQueue: 'nobody-polls', workflowId: `ui-check-${randomBytes(3).toString('hex')}`, args: [{ email }] });
      const raw = await handle.fetchHistory();
      expect(Buffer.from(raw.events![0]!.workflowExecutionStartedEventAttributes!.input!.payloads![0]!.data!).toString('latin1')).not.toContain(email);

      const { context } = await localContext(browser);
      const page = await context.newPage();
      const decodeCalls: string[] = [];
      page.on('response', (res) => {
        if (res.url().startsWith(`${endpoint.url}/decode`)) decodeCalls.push(`${res.request().method()} ${res.status()}`);
      });
      await page.goto(`${uiOrigin}/namespaces/default/workflows/${encodeURIComponent(handle.workflowId)}/${handle.firstExecutionRunId}/history`);
      await page.getByText(email).first().waitFor({ timeout: 30_000 });
      expect(decodeCalls).toContain('POST 200');
      await context.close();
      await handle.terminate();
    } finally {
      await client.connection.close();
    }
  }, 90_000);
});
