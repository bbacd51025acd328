import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { defaultPayloadConverter, METADATA_ENCODING_KEY, type Payload } from '@temporalio/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { serveCodecEndpoint, type CodecEndpoint } from '../src/api/temporal-codec/routes.js';
import { loadConfig } from '../src/config.js';
import { loadPayloadCodec } from '../src/runtime.js';
import { dataConverterFor, ENCRYPTED_ENCODING, KEY_ID_METADATA, parsePayloadKeys, PayloadEncryptionCodec, UnknownPayloadKeyError } from '../src/temporal/payload-codec.js';
import { invitationWorkflowId, stateQuery } from '../src/workflows/invitation.messages.js';
import { fetchRawHistory, metadataText, openPayloads, payloadsOutsideSearchAttributes, textOutsideSearchAttributes } from './support/raw-history.js';
import { eventually, linkFrom, startHarness, type Harness } from './support/harness.js';

/**
 * Temporal holds no personal data in plaintext: every payload our clients and workers write is
 * sealed with AES-256-GCM under a key id; only the search attributes stay readable.
 */
let h: Harness;
beforeAll(async () => {
  // An SMTP server that names the address it refuses, as real ones do.
  h = await startHarness({ mail: { reply: ({ to }) => (to[0]?.startsWith('bounce-') ? { code: 550, message: `<${to[0]}>: Recipient address rejected` } : undefined) } });
});
afterAll(async () => h?.close());

const newKey = (id: string) => `${id}:${randomBytes(32).toString('base64')}`;

/** Invites someone with a name and address found nowhere else, and accepts the invitation. */
async function inviteAndAccept(options: { beforeAccept?: () => Promise<void>; client?: Client } = {}) {
  const tag = randomBytes(4).toString('hex');
  const username = `pii.${tag}`;
  const email = `pii-${tag}@example.com`;
  const res = await h.api('POST', '/api/v1/invitations', { username, email, userType: 'member', locale: 'en' });
  expect(res.status).toBe(201);
  const workflowId = invitationWorkflowId(res.body.user.id);
  const mail = await h.mail.waitFor((m) => m.to.includes(email), 15_000);
  await options.beforeAccept?.();
  const accepted = await h.api('POST', '/api/v1/public/invitations/accept', { token: linkFrom(mail.text).token, password: 'a long and private passphrase' }, { authorization: '' });
  expect(accepted.status).toBe(200);
  const result = await (options.client ?? h.client).workflow.getHandle(workflowId).result();
  expect(result).toMatchObject({ outcome: 'accepted' });
  return { username, email, workflowId };
}

const attributesOf = (history: Awaited<ReturnType<typeof fetchRawHistory>>) => {
  const events = history.events ?? [];
  const started = events[0]!;
  return {
    started,
    input: started.workflowExecutionStartedEventAttributes!.input!.payloads!,
    // Local activities' results live in markers, under `result`.
    localActivityResults: events.flatMap((e) => e.markerRecordedEventAttributes?.details?.result?.payloads ?? []),
    activityInputs: events.flatMap((e) => e.activityTaskScheduledEventAttributes?.input?.payloads ?? []),
    activityResults: events.flatMap((e) => e.activityTaskCompletedEventAttributes?.result?.payloads ?? []),
    workflowResult: events.flatMap((e) => e.workflowExecutionCompletedEventAttributes?.result?.payloads ?? []),
  };
};

describe('personal data in Temporal', () => {
  it('a history read without the codec holds no email address or username outside the search attributes; the service reads them back', async () => {
    const { username, email, workflowId } = await inviteAndAccept();
    const history = await fetchRawHistory(workflowId);
    const parts = attributesOf(history);

    // The places that held them in plaintext before: each is there, and each is sealed.
    for (const [where, payloads] of Object.entries({ input: parts.input, localActivityResults: parts.localActivityResults, activityInputs: parts.activityInputs, activityResults: parts.activityResults })) {
      expect(payloads.length, where).toBeGreaterThan(0);
    }
    // The one payload the SDK writes itself, past the codec: a local activity marker's
    // bookkeeping (sequence, attempt, activity id and type, times). It must hold only that.
    const markerPayloads = (name: string) =>
      (history.events ?? []).filter((e) => e.markerRecordedEventAttributes?.markerName === name).flatMap((e) => Object.values(e.markerRecordedEventAttributes!.details ?? {}).flatMap((d) => d.payloads ?? []));
    const bookkeeping = markerPayloads('core_local_activity').filter((p) => metadataText(p, METADATA_ENCODING_KEY) === 'json/plain');
    expect(bookkeeping.length).toBe(parts.localActivityResults.length);
    for (const payload of bookkeeping) {
      expect(metadataText(payload, METADATA_ENCODING_KEY)).toBe('json/plain');
      expect(Object.keys(JSON.parse(Buffer.from(payload.data!).toString('utf8'))).sort()).toEqual(['activity_id', 'activity_type', 'attempt', 'backoff', 'complete_time', 'original_schedule_time', 'seq']);
    }
    // A patch marker (a workflow change made replay-safe) holds the patch's name and a flag, nothing else.
    const patches = markerPayloads('core_patch');
    for (const payload of patches) expect(Object.keys(JSON.parse(Buffer.from(payload.data!).toString('utf8'))).sort()).toEqual(['deprecated', 'id']);
    const everyPayload = payloadsOutsideSearchAttributes(history).filter((p) => !bookkeeping.includes(p) && !patches.includes(p));
    // The walk finds at least those (and the summary, the workflow's result, …).
    expect(everyPayload.length).toBeGreaterThan(parts.input.length + parts.localActivityResults.length + parts.activityInputs.length + parts.activityResults.length);
    for (const payload of everyPayload) {
      expect(metadataText(payload, METADATA_ENCODING_KEY)).toBe(ENCRYPTED_ENCODING);
      expect(metadataText(payload, KEY_ID_METADATA)).toBe(h.payloadCodec.currentKeyId);
    }
    const raw = textOutsideSearchAttributes(history).toLowerCase();
    expect(raw).not.toContain(email);
    expect(raw).not.toContain(username);
    expect(raw).not.toContain(`pii-`);

    // Search attributes are the one readable place, on purpose.
    const indexed = parts.started.workflowExecutionStartedEventAttributes!.searchAttributes!.indexedFields!;
    expect(defaultPayloadConverter.fromPayload(indexed.Username!)).toBe(username);

    // With the keys, everything is there.
    const [input] = (await openPayloads(h.payloadCodec, parts.input)) as Array<{ username: string; email: string; userId: string }>;
    expect(input).toMatchObject({ username, email });
    const [registration] = (await openPayloads(h.payloadCodec, parts.localActivityResults)) as Array<{ user: { username: string; email: string } }>;
    expect(registration!.user).toMatchObject({ username, email });
    const activityValues = JSON.stringify([...(await openPayloads(h.payloadCodec, parts.localActivityResults)), ...(await openPayloads(h.payloadCodec, parts.activityInputs))]);
    expect(activityValues).toContain(email);
    // SDK 1.24 passes the static summary through the codec too (it names the invitee).
    expect(await openPayloads(h.payloadCodec, [parts.started.userMetadata!.summary!])).toEqual([`Invitation of ${username} (${input!.userId})`]);
  });

  it("a failure's message (an SMTP server naming the refused address) is encrypted like a payload", async () => {
    const tag = randomBytes(4).toString('hex');
    const email = `bounce-${tag}@example.com`;
    const res = await h.api('POST', '/api/v1/invitations', { username: `bounce.${tag}`, email, userType: 'member' });
    expect(res.status).toBe(201);
    const handle = h.client.workflow.getHandle(invitationWorkflowId(res.body.user.id));
    const state = await eventually(async () => {
      const current = await handle.query(stateQuery);
      return current.mail === 'failed' && current;
    }, 20_000, 'the refused mail');
    expect(state.mailError).toContain(email); // the service itself still reads it

    const history = await fetchRawHistory(handle.workflowId);
    const failures = (history.events ?? []).flatMap((e) => e.activityTaskFailedEventAttributes?.failure ?? []);
    expect(failures.length).toBeGreaterThan(0);
    expect(failures[0]!.encodedAttributes).toBeTruthy();
    expect(textOutsideSearchAttributes(history).toLowerCase()).not.toContain(email);
  });

  it('a workflow started under key A completes after the worker moves to keys [B, A]; a process without B says which key it lacks', async () => {
    const a = h.config.TEMPORAL_PAYLOAD_KEYS!;
    const rotated = new PayloadEncryptionCodec(parsePayloadKeys(`${newKey('rotated-b')},${a}`));
    const rotatedClient = new Client({ connection: await Connection.connect({ address: inject('temporalAddress') }), dataConverter: dataConverterFor(rotated) });
    try {
      // The new worker replays the whole history: it opens A's payloads and seals new ones with B.
      const { workflowId } = await inviteAndAccept({ client: rotatedClient, beforeAccept: () => h.restartWorker(undefined, { payloadCodec: rotated }) });
      const parts = attributesOf(await fetchRawHistory(workflowId));
      expect(metadataText(parts.input[0]!, KEY_ID_METADATA)).toBe(h.payloadCodec.currentKeyId);
      expect(metadataText(parts.workflowResult[0]!, KEY_ID_METADATA)).toBe('rotated-b');

      await expect(h.client.workflow.getHandle(workflowId).result()).rejects.toThrow(/key id "rotated-b", which this process does not have.*TEMPORAL_PAYLOAD_KEYS/);
    } finally {
      await rotatedClient.connection.close();
      await h.restartWorker(undefined, { payloadCodec: h.payloadCodec });
    }
  });
});

describe('the payload codec', () => {
  const sealWith = (spec: string) => new PayloadEncryptionCodec(parsePayloadKeys(spec));
  const value = defaultPayloadConverter.toPayload({ email: 'someone@example.com' });

  it('fails clearly on a key id it does not know, and on a payload relabelled with another key id', async () => {
    const keyA = newKey('key-a');
    const [sealed] = await sealWith(keyA).encode([value]);
    const unknown = sealWith(newKey('key-c')).decode([sealed!]);
    await expect(unknown).rejects.toBeInstanceOf(UnknownPayloadKeyError);
    await expect(unknown).rejects.toThrow(/^Temporal payload sealed with key id "key-a", which this process does not have \(it knows: key-c\)\. Add that key to TEMPORAL_PAYLOAD_KEYS/);

    const keyB = newKey('key-b');
    const relabelled = { ...sealed!, metadata: { ...sealed!.metadata, [KEY_ID_METADATA]: new Uint8Array(Buffer.from('key-b')) } };
    await expect(sealWith(`${keyB},${keyA}`).decode([relabelled])).rejects.toThrow('does not open with key "key-b"');
    expect(await openPayloads(sealWith(`${keyB},${keyA}`), [sealed!])).toEqual([{ email: 'someone@example.com' }]);
  });

  it('is created once in the data folder for a local setup, and required with TEMPORAL_ADDRESS', async () => {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'payload-keys-'));
    try {
      const first = loadPayloadCodec(loadConfig({ DATA_DIR: dataDir }));
      const again = loadPayloadCodec(loadConfig({ DATA_DIR: dataDir }));
      expect(again.currentKeyId).toBe(first.currentKeyId);
      expect(statSync(path.join(dataDir, 'temporal-payload.keys')).mode & 0o777).toBe(0o600);
      expect(await openPayloads(again, await first.encode([value]))).toEqual([{ email: 'someone@example.com' }]);
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
    expect(() => loadPayloadCodec(loadConfig({ TEMPORAL_ADDRESS: 'temporal.example.test:7233' }))).toThrow('TEMPORAL_PAYLOAD_KEYS is required with TEMPORAL_ADDRESS');
    expect(() => loadConfig({ TEMPORAL_PAYLOAD_KEYS: 'k:short' })).toThrow('TEMPORAL_PAYLOAD_KEYS: TEMPORAL_PAYLOAD_KEYS key "k" must be 32 bytes');
  });

  it('refuses malformed key settings with the setting named', () => {
    expect(() => parsePayloadKeys('')).toThrow('TEMPORAL_PAYLOAD_KEYS names no key');
    expect(() => parsePayloadKeys(randomBytes(32).toString('base64'))).toThrow('TEMPORAL_PAYLOAD_KEYS: each entry is "keyId:key"');
    expect(() => parsePayloadKeys('a:c2hvcnQ=')).toThrow('TEMPORAL_PAYLOAD_KEYS key "a" must be 32 bytes');
    const key = newKey('twice');
    expect(() => parsePayloadKeys(`${key},${key}`)).toThrow('names key id "twice" twice');
  });
});

describe('the codec endpoint for Temporal UI', () => {
  const ui = 'http://localhost:8233';
  let endpoint: CodecEndpoint;
  beforeAll(async () => {
    endpoint = await serveCodecEndpoint({ codec: h.payloadCodec, namespace: h.config.TEMPORAL_NAMESPACE, allowedOrigins: [ui], host: '127.0.0.1', port: 0 });
  });
  afterAll(async () => endpoint?.close());

  const post = (path: string, payloads: unknown[], headers: Record<string, string> = {}) =>
    fetch(`${endpoint.url}${path}`, {
      method: 'POST',
      headers: { origin: ui, 'content-type': 'application/json', 'x-namespace': h.config.TEMPORAL_NAMESPACE, ...headers },
      body: JSON.stringify({ payloads }),
    });
  const asJson = (p: Payload) => ({
    metadata: Object.fromEntries(Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v).toString('base64')])),
    data: Buffer.from(p.data!).toString('base64'),
  });
  const dataOf = (p: { data: string }) => Buffer.from(p.data, 'base64').toString('utf8');

  it('decodes a payload taken from a real history, in the codec-server format', async () => {
    const tag = randomBytes(4).toString('hex');
    const res = await h.api('POST', '/api/v1/invitations', { username: `ui.${tag}`, email: `ui-${tag}@example.com`, userType: 'member' });
    expect(res.status).toBe(201);
    const { input } = attributesOf(await fetchRawHistory(invitationWorkflowId(res.body.user.id)));

    const decoded = await post('/decode', [asJson(input[0]!)]);
    expect(decoded.status).toBe(200);
    expect(decoded.headers.get('access-control-allow-origin')).toBe(ui);
    const body = (await decoded.json()) as { payloads: Array<{ metadata: Record<string, string>; data: string }> };
    expect(Buffer.from(body.payloads[0]!.metadata.encoding!, 'base64').toString()).toBe('json/plain');
    expect(JSON.parse(dataOf(body.payloads[0]!))).toMatchObject({ username: `ui.${tag}`, email: `ui-${tag}@example.com` });

    // What the UI encodes (e.g. a signal's input typed in by an operator) the workers can open.
    const encoded = (await (await post('/encode', [asJson(defaultPayloadConverter.toPayload('typed in the UI'))])).json()) as { payloads: Array<{ metadata: Record<string, string>; data: string }> };
    expect(Buffer.from(encoded.payloads[0]!.metadata.encoding!, 'base64').toString()).toBe(ENCRYPTED_ENCODING);
    expect(dataOf(encoded.payloads[0]!)).not.toContain('typed in the UI');
    const back = (await (await post('/decode', encoded.payloads)).json()) as { payloads: Array<{ data: string }> };
    expect(JSON.parse(dataOf(back.payloads[0]!))).toBe('typed in the UI');
  });

  it("answers the UI's CORS preflight, and no other origin's", async () => {
    const preflight = (origin: string) =>
      fetch(`${endpoint.url}/decode`, { method: 'OPTIONS', headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type,x-namespace' } });
    const allowed = await preflight(ui);
    expect(allowed.status).toBe(204);
    expect(allowed.headers.get('access-control-allow-origin')).toBe(ui);
    expect(allowed.headers.get('access-control-allow-methods')).toContain('POST');
    expect(allowed.headers.get('access-control-allow-headers')).toContain('x-namespace');
    const other = await preflight('https://evil.example');
    expect(other.headers.get('access-control-allow-origin')).toBeNull();
    // CORS alone would only hide the answer from that page: nothing is decrypted for it at all.
    const [sealed] = await h.payloadCodec.encode([defaultPayloadConverter.toPayload('secret@example.com')]);
    const foreignPage = await post('/decode', [asJson(sealed!)], { origin: 'https://evil.example' });
    expect(foreignPage.status).toBe(403);
    expect(await foreignPage.text()).not.toContain('secret@example.com');
    expect((await post('/decode', [asJson(sealed!)], { origin: 'null' })).status).toBe(403);
    expect((await post('/decode', [], { 'content-type': 'application/json-seq' })).status).toBe(415);
  });

  it('says why a payload cannot be decoded, leaves other namespaces alone, and wants JSON', async () => {
    const [foreign] = await new PayloadEncryptionCodec(parsePayloadKeys(newKey('elsewhere'))).encode([defaultPayloadConverter.toPayload('x')]);
    const refused = await post('/decode', [asJson(foreign!)]);
    expect(refused.status).toBe(422);
    expect(((await refused.json()) as { detail: string }).detail).toContain('key id "elsewhere", which this process does not have');

    const untouched = await post('/decode', [asJson(foreign!)], { 'x-namespace': 'another-namespace' });
    expect(((await untouched.json()) as { payloads: unknown[] }).payloads).toEqual([asJson(foreign!)]);

    expect((await post('/decode', [], { 'content-type': 'text/plain' })).status).toBe(415);
    expect((await fetch(`${endpoint.url}/decode`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"payloads":' })).status).toBe(400);
  });
});
