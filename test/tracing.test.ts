import { InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import type { Client } from '@temporalio/client';
import type { NativeConnection } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createApp } from '../src/api/app.js';
import { startMailCatcher, type MailCatcher } from '../src/dev/mail-catcher.js';
import { createLogger } from '../src/log.js';
import { createSmtpMailer, type Mailer } from '../src/mail/mailer.js';
import { createSecretBox } from '../src/mail/secret-box.js';
import { connectTemporal, loadPayloadCodec } from '../src/runtime.js';
import { activeTracing, startTracing, tracingConfigured } from '../src/telemetry.js';
import { bundleInvitationWorkflows } from '../src/temporal/bundle.js';
import { connectWorkerTemporal, createInvitationWorker, type InvitationWorker } from '../src/temporal/worker.js';
import { invitationWorkflowId } from '../src/workflows/invitation.messages.js';
import { ADMIN_KEY, cloneDatabase, eventually, linkFrom, quietTemporalRuntime, testConfig } from './support/harness.js';

/**
 * One trace from the API call to the SMTP hand-off, through the production wiring: the same
 * connectTemporal, createApp, createInvitationWorker and tracing bundle the processes use, with
 * an in-memory exporter in place of OTLP. (The harness's own client bypasses connectTemporal,
 * so this file assembles the pieces itself.)
 */

describe('tracing off (the default)', () => {
  it('is on only when the standard OTEL_* variables ask for it', () => {
    expect(tracingConfigured({})).toBe(false);
    expect(tracingConfigured({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318' })).toBe(true);
    expect(tracingConfigured({ OTEL_TRACES_EXPORTER: 'otlp' })).toBe(true);
    expect(tracingConfigured({ OTEL_TRACES_EXPORTER: 'none', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318' })).toBe(false);
    // Nothing configured: no provider, and the client, app and worker add nothing.
    expect(startTracing('test', { env: {} })).toBeUndefined();
    expect(activeTracing()).toBeUndefined();
  });
});

describe('tracing on', () => {
  const exporter = new InMemorySpanExporter();
  let mail: MailCatcher;
  let database: Awaited<ReturnType<typeof cloneDatabase>>;
  let client: Client;
  let connection: NativeConnection;
  let mailer: Mailer;
  let worker: InvitationWorker;
  let running: Promise<void>;
  let app: ReturnType<typeof createApp>;

  beforeAll(async () => {
    quietTemporalRuntime();
    startTracing('invitation-service-test', { spanProcessor: new SimpleSpanProcessor(exporter) });
    mail = await startMailCatcher({ smtpPort: 0, httpPort: null });
    database = await cloneDatabase();
    const config = testConfig({ SMTP_URL: mail.smtpUrl });
    const payloadCodec = loadPayloadCodec(config);
    const address = inject('temporalAddress');
    client = await connectTemporal(config, address, payloadCodec);
    connection = await connectWorkerTemporal(config, address);
    mailer = createSmtpMailer(mail.smtpUrl, config);
    // The shared test bundle is built without tracing; this one has the workflow interceptors.
    const bundle = await bundleInvitationWorkflows();
    worker = await createInvitationWorker({
      connection,
      namespace: config.TEMPORAL_NAMESPACE,
      taskQueue: config.TEMPORAL_TASK_QUEUE,
      deps: { db: database.handle.db, mailer, secretBox: createSecretBox(Buffer.from(config.EMAIL_ENCRYPTION_KEY!, 'hex')), config },
      payloadCodec,
      workflowBundle: bundle,
    });
    running = worker.run();
    app = createApp({ db: database.handle.db, temporal: client, config, log: createLogger('silent'), adminKeys: [ADMIN_KEY] });
  }, 120_000);

  afterAll(async () => {
    if (worker?.getState() === 'RUNNING') worker.shutdown();
    await running;
    mailer?.close();
    await connection?.close();
    await client?.connection.close();
    await mail?.close();
    await database?.drop();
    await activeTracing()?.shutdown();
  });

  it('covers the HTTP request, the workflow start, the workflow, the mail activity and the SMTP hand-off with one trace', async () => {
    const res = await app.request('/api/v1/invitations', {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'application/json', 'x-actor': 'staff:anna' },
      body: JSON.stringify({ username: 'tracy.trace', email: 'tracy@example.com', userType: 'member', locale: 'en' }),
    });
    expect(res.status).toBe(201);
    const caught = await mail.waitFor((m) => m.to.includes('tracy@example.com'), 15_000);
    // The workflow span ends with the workflow: accept the invitation so that it finishes.
    const accepted = await app.request('/api/v1/public/invitations/accept', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ token: linkFrom(caught.text).token, password: 'correct horse battery staple' }),
    });
    expect(accepted.status).toBe(200);
    const { user } = (await res.json()) as { user: { id: string } };
    await client.workflow.getHandle(invitationWorkflowId(user.id)).result();

    const find = (spans: ReadableSpan[], name: string) => spans.find((s) => s.name === name);
    const names = ['POST /api/v1/invitations', 'StartWorkflow:invitationWorkflow', 'RunWorkflow:invitationWorkflow', 'RunActivity:deliverEmail', 'smtp.send'];
    // Workflow spans arrive through the sink after the workflow task completes.
    const spans = await eventually(async () => {
      const all = exporter.getFinishedSpans();
      return names.every((name) => find(all, name)) && all;
    });
    const [http, start, run, activity, smtp] = names.map((name) => find(spans, name)!) as [ReadableSpan, ReadableSpan, ReadableSpan, ReadableSpan, ReadableSpan];
    const traceIds = new Set([http, start, run, activity, smtp].map((s) => s.spanContext().traceId));
    expect(traceIds.size, JSON.stringify(spans.map((s) => [s.name, s.spanContext().traceId]))).toBe(1);
    // Parent links: the request is the root; the workflow start runs inside it; the SMTP
    // hand-off is the activity's child.
    expect(http.parentSpanId).toBeUndefined();
    expect(start.parentSpanId).toBe(http.spanContext().spanId);
    expect(smtp.parentSpanId).toBe(activity.spanContext().spanId);
    expect(spans.find((s) => s.name === 'StartActivity:deliverEmail')?.parentSpanId).toBe(run.spanContext().spanId);
    expect(http.attributes['http.response.status_code']).toBe(201);
  });
});
