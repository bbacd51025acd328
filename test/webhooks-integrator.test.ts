import { createServer as createHttpServer } from 'node:http';
import { createServer } from 'node:net';
import { sql } from 'kysely';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, startHarness, type Harness } from './support/harness.js';
import { startWebhookReceiver, type ReceivedWebhook } from './support/webhook-receiver.js';

/**
 * Issue 17.5, webhooks for integrators, end to end on the Temporal dev server: a test event
 * sent on request, secret rotation in which both secrets sign for an overlap, and username and
 * email in payloads when WEBHOOK_INCLUDE_PII=true (test/webhooks.test.ts checks they are
 * absent by default). Signatures are checked with the standardwebhooks package, as a receiver would.
 */
let h: Harness;
beforeAll(async () => {
  h = await startHarness({
    webhooks: true,
    config: {
      WEBHOOK_ALLOW_PRIVATE: 'true',
      WEBHOOK_DISPATCH_INTERVAL: '200ms',
      WEBHOOK_RETRY_INITIAL_INTERVAL: '100ms',
      WEBHOOK_RETRY_MAX_INTERVAL: '300ms',
      WEBHOOK_SECRET_OVERLAP: '1 hour',
      WEBHOOK_TIMEOUT: '2s',
      WEBHOOK_INCLUDE_PII: 'true',
    },
  });
});
afterAll(async () => h?.close());

async function register(url: string, events = ['user.invited', 'user.deleted']): Promise<{ id: string; secret: string }> {
  const res = await h.api('POST', '/api/v1/webhooks', { url, events }, { 'x-actor': 'staff:anna' });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body;
}

async function invite(username: string) {
  const res = await h.api('POST', '/api/v1/invitations', { username, email: `${username}@example.com`, userType: 'member', locale: 'en' }, { 'x-actor': 'staff:anna' });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body as { user: { id: string } };
}

const verifies = (secret: string, hook: ReceivedWebhook) => {
  try {
    new Webhook(secret).verify(hook.body, hook.headers as Record<string, string>);
    return true;
  } catch {
    return false;
  }
};
const signatures = (hook: ReceivedWebhook) => String(hook.headers['webhook-signature']).split(' ').length;

async function audits(action: string, endpointId: string) {
  const rows = await sql<{ actor: string; details: Record<string, unknown> }>`select actor, details from audit_events where action = ${action} and details->>'endpointId' = ${endpointId} order by at`.execute(h.db);
  return rows.rows;
}

describe('a test event', () => {
  it('reaches the receiver signed, answers with what it said, is audited, and is not a delivery', async () => {
    const receiver = await startWebhookReceiver(() => 200);
    const endpoint = await register(receiver.url);
    const res = await h.api('POST', `/api/v1/webhooks/${endpoint.id}/test`, undefined, { 'x-actor': 'staff:ben' });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body).toMatchObject({ delivered: true, status: 200, responseBody: 'thanks', error: null, signatures: 1 });
    expect(res.body.durationMs).toBeGreaterThanOrEqual(0);

    expect(receiver.received).toHaveLength(1);
    const [hook] = receiver.received;
    expect(hook!.headers['webhook-id']).toBe(res.body.eventId);
    expect(verifies(endpoint.secret, hook!)).toBe(true);
    expect(verifies(`whsec_${Buffer.alloc(32, 9).toString('base64')}`, hook!)).toBe(false);
    expect(hook!.json).toMatchObject({ type: 'webhook.test', data: { endpointId: endpoint.id, actor: 'staff:ben' } });

    // Not a delivery: the log stays empty, and the audit trail says who tested and how it went.
    expect((await h.api('GET', `/api/v1/webhooks/${endpoint.id}/deliveries`)).body.items).toEqual([]);
    const [tested] = await audits('webhook.endpoint_tested', endpoint.id);
    expect(tested).toMatchObject({ actor: 'staff:ben', details: { eventId: res.body.eventId, delivered: true, status: 200 } });
    await receiver.close();
  });

  it('reports a failing receiver, an unreachable one, and works on a disabled endpoint', async () => {
    const failing = await startWebhookReceiver(() => 503);
    const endpoint = await register(failing.url);
    expect((await h.api('PATCH', `/api/v1/webhooks/${endpoint.id}`, { status: 'disabled' })).status).toBe(200);
    const res = await h.api('POST', `/api/v1/webhooks/${endpoint.id}/test`);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ delivered: false, status: 503, error: null });
    expect(failing.received).toHaveLength(1);
    // Testing changed nothing about the endpoint: still disabled, no failure run started.
    expect((await h.api('GET', `/api/v1/webhooks/${endpoint.id}`)).body).toMatchObject({ status: 'disabled', failingSince: null });
    await failing.close();

    // A port nobody listens on: no answer, and the reason.
    const closedPort = await new Promise<number>((resolve) => {
      const probe = createServer().listen(0, '127.0.0.1', () => {
        const { port } = probe.address() as { port: number };
        probe.close(() => resolve(port));
      });
    });
    const gone = await register(`http://127.0.0.1:${closedPort}/hooks`);
    const unreachable = await h.api('POST', `/api/v1/webhooks/${gone.id}/test`);
    expect(unreachable.status).toBe(200);
    expect(unreachable.body).toMatchObject({ delivered: false, status: null });
    expect(unreachable.body.error).toMatch(/ECONNREFUSED/);
  });

  it('runs at most four at a time: a fifth gets 503 overloaded at once, and nothing is sent for it', async () => {
    const held: (() => void)[] = [];
    const slow = createHttpServer((_req, res) => void held.push(() => res.writeHead(200).end('late')));
    await new Promise<void>((resolve) => slow.listen(0, '127.0.0.1', resolve));
    const endpoint = await register(`http://127.0.0.1:${(slow.address() as { port: number }).port}/hooks`);
    const running = Array.from({ length: 4 }, () => h.api('POST', `/api/v1/webhooks/${endpoint.id}/test`));
    await eventually(async () => held.length === 4, 5000, 'four tests at the receiver');
    const fifth = await h.api('POST', `/api/v1/webhooks/${endpoint.id}/test`);
    expect(fifth.status).toBe(503);
    expect(fifth.body.type).toMatch(/overloaded$/);
    expect(fifth.headers.get('retry-after')).toBeTruthy();
    for (const release of held) release();
    for (const res of await Promise.all(running)) expect(res.body).toMatchObject({ delivered: true, status: 200 });
    expect(held).toHaveLength(4);
    slow.close();
  });

  it('answers 404 for an unknown endpoint and 4xx for a body, as problem documents', async () => {
    const unknown = await h.api('POST', '/api/v1/webhooks/00000000-0000-4000-8000-000000000000/test');
    expect(unknown.status).toBe(404);
    expect(unknown.headers.get('content-type')).toContain('application/problem+json');
    const notUuid = await h.api('POST', '/api/v1/webhooks/nope/test');
    expect(notUuid.status).toBe(404);
    const receiver = await startWebhookReceiver(() => 200);
    const endpoint = await register(receiver.url);
    const withBody = await h.api('POST', `/api/v1/webhooks/${endpoint.id}/test`, { type: 'user.invited' });
    expect(withBody.status).toBeGreaterThanOrEqual(400);
    expect(withBody.status).toBeLessThan(500);
    expect(receiver.received).toHaveLength(0);
    await receiver.close();
  });
});

describe('secret rotation', () => {
  it('signs with the new and the replaced secret for the overlap, then with the new one only', async () => {
    const receiver = await startWebhookReceiver(() => 200);
    const endpoint = await register(receiver.url, ['user.invited']);
    const rotated = await h.api('PATCH', `/api/v1/webhooks/${endpoint.id}`, { rotateSecret: true }, { 'x-actor': 'staff:anna' });
    expect(rotated.status, JSON.stringify(rotated.body)).toBe(200);
    const fresh = rotated.body.secret as string;
    expect(fresh).not.toBe(endpoint.secret);
    // WEBHOOK_SECRET_OVERLAP is 1 hour here.
    const until = Date.parse(rotated.body.previousSecretExpiresAt);
    expect(until - Date.now()).toBeGreaterThan(59 * 60_000);
    expect(until - Date.now()).toBeLessThanOrEqual(60 * 60_000);
    expect((await h.api('GET', `/api/v1/webhooks/${endpoint.id}`)).body.previousSecretExpiresAt).toBe(rotated.body.previousSecretExpiresAt);
    const [audit] = await audits('webhook.endpoint_secret_rotated', endpoint.id);
    expect(audit!.details).toMatchObject({ secret: 'generated' });
    expect(Date.parse(audit!.details.previousSecretSignsUntil as string)).toBe(until);

    // During the overlap a receiver on either secret verifies the same delivery.
    const during = await invite('rotate.during');
    const [first] = await eventually(async () => receiver.acceptedFor(during.user.id).length > 0 && receiver.acceptedFor(during.user.id), 20_000, 'the delivery');
    expect(signatures(first!)).toBe(2);
    expect(verifies(fresh, first!)).toBe(true);
    expect(verifies(endpoint.secret, first!)).toBe(true);
    const test = await h.api('POST', `/api/v1/webhooks/${endpoint.id}/test`);
    expect(test.body.signatures).toBe(2);

    // The overlap ends by the database's clock: then only the new secret signs.
    await sql`update webhook_endpoints set previous_secret_expires_at = now() - interval '1 second' where id = ${endpoint.id}`.execute(h.db);
    expect((await h.api('GET', `/api/v1/webhooks/${endpoint.id}`)).body.previousSecretExpiresAt).toBeNull();
    const after = await invite('rotate.after');
    const [second] = await eventually(async () => receiver.acceptedFor(after.user.id).length > 0 && receiver.acceptedFor(after.user.id), 20_000, 'the delivery');
    expect(signatures(second!)).toBe(1);
    expect(verifies(fresh, second!)).toBe(true);
    expect(verifies(endpoint.secret, second!)).toBe(false);
    await receiver.close();
  });

  it('refuses a second rotation inside the overlap (it would drop the secret receivers may still use), unless it ends the overlap on purpose', async () => {
    const receiver = await startWebhookReceiver(() => 200);
    const endpoint = await register(receiver.url, ['user.invited']);
    const first = await h.api('PATCH', `/api/v1/webhooks/${endpoint.id}`, { rotateSecret: true });
    // The answer with the new secret was lost, say, and staff rotate again.
    const again = await h.api('PATCH', `/api/v1/webhooks/${endpoint.id}`, { rotateSecret: true });
    expect(again.status).toBe(422);
    expect(again.headers.get('content-type')).toContain('application/problem+json');
    expect(again.body.errors).toEqual([expect.objectContaining({ field: 'rotateSecret' })]);
    const given = await h.api('PATCH', `/api/v1/webhooks/${endpoint.id}`, { secret: `whsec_${Buffer.alloc(32, 3).toString('base64')}` });
    expect(given.status).toBe(422);
    expect(given.body.errors).toEqual([expect.objectContaining({ field: 'secret' })]);
    // Nothing changed: the original secret and the first rotation's still sign.
    expect((await h.api('GET', `/api/v1/webhooks/${endpoint.id}`)).body.previousSecretExpiresAt).toBe(first.body.previousSecretExpiresAt);
    await h.api('POST', `/api/v1/webhooks/${endpoint.id}/test`);
    const hook = receiver.received.at(-1)!;
    expect(verifies(endpoint.secret, hook)).toBe(true);
    expect(verifies(first.body.secret, hook)).toBe(true);
    // On purpose: a rotation that also ends the overlap.
    const deliberate = await h.api('PATCH', `/api/v1/webhooks/${endpoint.id}`, { rotateSecret: true, expirePreviousSecret: true });
    expect(deliberate.status).toBe(200);
    expect(deliberate.body.previousSecretExpiresAt).toBeNull();
    await receiver.close();
  });

  it('expirePreviousSecret ends the overlap now, or skips it when given with the rotation', async () => {
    const receiver = await startWebhookReceiver(() => 200);
    const endpoint = await register(receiver.url, ['user.invited']);
    const rotated = await h.api('PATCH', `/api/v1/webhooks/${endpoint.id}`, { rotateSecret: true });
    expect(rotated.body.previousSecretExpiresAt).not.toBeNull();
    const ended = await h.api('PATCH', `/api/v1/webhooks/${endpoint.id}`, { expirePreviousSecret: true }, { 'x-actor': 'staff:anna' });
    expect(ended.status).toBe(200);
    expect(ended.body.previousSecretExpiresAt).toBeNull();
    expect(ended.body.secret).toBeUndefined();
    const changed = await audits('webhook.endpoint_changed', endpoint.id);
    expect(changed.at(-1)!.details).toMatchObject({ changes: { previousSecretSignsUntil: { from: rotated.body.previousSecretExpiresAt, to: null } } });
    expect((await h.api('POST', `/api/v1/webhooks/${endpoint.id}/test`)).body.signatures).toBe(1);

    // After a leak: a new secret, and the old one stops at once.
    const leaked = await h.api('PATCH', `/api/v1/webhooks/${endpoint.id}`, { rotateSecret: true, expirePreviousSecret: true });
    expect(leaked.body.previousSecretExpiresAt).toBeNull();
    const test = await h.api('POST', `/api/v1/webhooks/${endpoint.id}/test`);
    expect(test.body.signatures).toBe(1);
    const hook = receiver.received.at(-1)!;
    expect(verifies(leaked.body.secret, hook)).toBe(true);
    expect(verifies(rotated.body.secret, hook)).toBe(false);
    await receiver.close();
  });

  it('the database refuses half a previous secret', async () => {
    const receiver = await startWebhookReceiver(() => 200);
    const endpoint = await register(receiver.url);
    await expect(sql`update webhook_endpoints set previous_secret_expires_at = now() where id = ${endpoint.id}`.execute(h.db)).rejects.toThrow(/webhook_endpoints_previous_secret_whole/);
    await receiver.close();
  });
});

describe('WEBHOOK_INCLUDE_PII=true', () => {
  it("puts the user's username and email in the payload, and none in a deleted user's events", async () => {
    const receiver = await startWebhookReceiver(() => 200);
    const endpoint = await register(receiver.url, ['user.invited', 'user.deleted']);
    const { user } = await invite('pii.shown');
    const [invited] = await eventually(async () => receiver.acceptedFor(user.id).length > 0 && receiver.acceptedFor(user.id), 20_000, 'user.invited');
    expect(verifies(endpoint.secret, invited!)).toBe(true);
    expect(invited!.json).toMatchObject({ type: 'user.invited', data: { userId: user.id, username: 'pii.shown', email: 'pii.shown@example.com' } });

    expect((await h.api('DELETE', `/api/v1/users/${user.id}`)).status).toBe(204);
    const deleted = await eventually(async () => receiver.acceptedFor(user.id).find((r) => r.json.type === 'user.deleted'), 20_000, 'user.deleted');
    expect(deleted.json.data).not.toHaveProperty('email');
    expect(deleted.json.data).not.toHaveProperty('username');
    // And the events from before the deletion no longer hold them: a redelivery sends none.
    const stored = await sql<{ data: Record<string, unknown> }>`select data from webhook_events where user_id = ${user.id}`.execute(h.db);
    expect(stored.rows.length).toBeGreaterThan(0);
    for (const row of stored.rows) expect(Object.keys(row.data)).not.toEqual(expect.arrayContaining(['email']));
    for (const row of stored.rows) expect(row.data).not.toHaveProperty('username');
    await receiver.close();
  });
});
