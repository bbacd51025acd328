import { register } from 'prom-client';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../src/api/app.js';
import { recordAudit } from '../src/audit/audit.repository.js';
import { WEBHOOK_EVENT_TYPES } from '../src/webhooks/events.js';
import { eventually, linkFrom, startHarness, type Harness } from './support/harness.js';
import { startWebhookReceiver, type ReceivedWebhook } from './support/webhook-receiver.js';

/**
 * Webhooks end to end: real changes through the API, the outbox, the dispatcher and delivery
 * workflows on the Temporal dev server, and receivers on 127.0.0.1 (hence
 * WEBHOOK_ALLOW_PRIVATE=true here). Retries and the disabling window are short by
 * configuration; the production policy is the same code with days instead of seconds.
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
      WEBHOOK_RETRY_WINDOW: '4s',
    },
    // Mail to bounce.* is refused for good (550): the mail step marks it failed.
    mail: { reply: (envelope) => (envelope.to.some((to) => to.startsWith('bounce.')) ? { code: 550, message: 'No such mailbox' } : undefined) },
    webhookHosts: { 'rebind.test': ['127.0.0.1'], 'public.test': ['93.184.216.34'], 'hooks.public.test': ['93.184.216.34'], 'mixed.test': ['93.184.216.34', '10.0.0.7'] },
  });
});
afterAll(async () => h?.close());

const ALL = [...WEBHOOK_EVENT_TYPES];
// A revoke that beats the invitation mail makes the mail step give up (email.failed): a race
// of the mail, not of webhooks, so the ordering tests leave that type out.
const ALL_BUT_MAIL = ALL.filter((type) => type !== 'email.failed');
const settle = (ms = 800) => new Promise((r) => setTimeout(r, ms));

async function register_(url: string, events: string[] = ALL): Promise<{ id: string; secret: string }> {
  const res = await h.api('POST', '/api/v1/webhooks', { url, events, description: 'the platform' }, { 'x-actor': 'staff:anna' });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body;
}

async function invite(username: string, email = `${username}@example.com`) {
  const res = await h.api('POST', '/api/v1/invitations', { username, email, userType: 'member', locale: 'en' }, { 'x-actor': 'staff:anna' });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body as { user: { id: string }; invitation: { id: string } };
}

const types = (received: ReceivedWebhook[]) => received.map((r) => r.json.type);

describe('delivery', () => {
  it('a receiver that answers 500 twice, then 200, gets the event once, signed so that the standardwebhooks library verifies it', async () => {
    const receiver = await startWebhookReceiver(({ count }) => (count <= 2 ? 500 : 200));
    const endpoint = await register_(receiver.url, ['user.invited']);
    expect(endpoint.secret).toMatch(/^whsec_[A-Za-z0-9+/]+=*$/);
    const { user, invitation } = await invite('hook.retry');

    const [delivered] = await eventually(async () => receiver.acceptedFor(user.id).length > 0 && receiver.acceptedFor(user.id), 20_000, 'the delivery');
    await settle();
    expect(receiver.acceptedFor(user.id)).toHaveLength(1);
    const attempts = receiver.received.filter((r) => r.headers['webhook-id'] === delivered!.headers['webhook-id']);
    expect(attempts.map((a) => a.status)).toEqual([500, 500, 200]);

    const verified = new Webhook(endpoint.secret).verify(delivered!.body, delivered!.headers as Record<string, string>) as ReceivedWebhook['json'];
    expect(verified).toMatchObject({ type: 'user.invited', data: { userId: user.id, sequence: 1, invitationId: invitation.id, actor: 'staff:anna' } });
    expect(Date.parse(verified.timestamp)).not.toBeNaN();
    // WEBHOOK_INCLUDE_PII is off by default: ids, no username or address (webhooks-integrator.test.ts turns it on).
    expect(verified.data).not.toHaveProperty('email');
    expect(verified.data).not.toHaveProperty('username');
    // The check has teeth: another body, or another secret, does not verify.
    expect(() => new Webhook(endpoint.secret).verify(delivered!.body.replace('"sequence":1', '"sequence":2'), delivered!.headers as Record<string, string>)).toThrow();
    expect(() => new Webhook(`whsec_${Buffer.alloc(32, 7).toString('base64')}`).verify(delivered!.body, delivered!.headers as Record<string, string>)).toThrow();
    // Every attempt carries the same id and body; only timestamp and signature are per attempt.
    expect(new Set(attempts.map((a) => a.body)).size).toBe(1);

    const log = await h.api('GET', `/api/v1/webhooks/${endpoint.id}/deliveries`);
    expect(log.status).toBe(200);
    const entry = log.body.items.find((d: { userId: string }) => d.userId === user.id);
    expect(entry).toMatchObject({ status: 'succeeded', attempts: 3, lastResponseStatus: 200, lastResponseBody: 'thanks', eventType: 'user.invited', sequence: 1, eventId: delivered!.headers['webhook-id'] });
    expect(entry.deliveredAt).not.toBeNull();

    expect((await h.api('DELETE', `/api/v1/webhooks/${endpoint.id}`)).status).toBe(204);
    await receiver.close();
  });

  it("one user's events arrive in the order they happened, even when each first attempt fails", async () => {
    const receiver = await startWebhookReceiver(({ count }) => (count === 1 ? 500 : 200));
    const endpoint = await register_(receiver.url, ALL_BUT_MAIL);
    const { user, invitation } = await invite('hook.order');
    expect((await h.api('DELETE', `/api/v1/invitations/${invitation.id}`, undefined, { 'x-actor': 'staff:bo' })).status).toBe(204);
    expect((await h.api('POST', `/api/v1/users/${user.id}/reactivate`)).status).toBe(200);
    expect((await h.api('DELETE', `/api/v1/users/${user.id}`)).status).toBe(204);

    const accepted = await eventually(async () => receiver.acceptedFor(user.id).length >= 5 && receiver.acceptedFor(user.id), 30_000, 'five events');
    expect(types(accepted)).toEqual(['user.invited', 'invitation.revoked', 'user.deactivated', 'user.reactivated', 'user.deleted']);
    expect(accepted.map((r) => r.json.data.sequence)).toEqual([1, 2, 3, 4, 5]);
    expect(accepted[2]!.json.data).toMatchObject({ reason: 'staff', cause: 'invitation_revoked', actor: 'staff:bo', invitationId: invitation.id });
    expect(accepted[3]!.json.data).toMatchObject({ via: 'staff' });
    expect((await h.api('DELETE', `/api/v1/webhooks/${endpoint.id}`)).status).toBe(204);
    await receiver.close();
  });

  it('an event committed while no worker runs is delivered once, after a new worker starts', async () => {
    const receiver = await startWebhookReceiver();
    const endpoint = await register_(receiver.url, ALL_BUT_MAIL);
    const { user, invitation } = await invite('hook.crash');
    await eventually(async () => receiver.acceptedFor(user.id).length === 1, 20_000, 'user.invited');

    await h.stopWorker(); // the process dies right after the change below commits
    expect((await h.api('DELETE', `/api/v1/invitations/${invitation.id}`)).status).toBe(204);
    const pending = await h.db.selectFrom('webhook_events').select(['type', 'dispatched_at']).where('user_id', '=', user.id).orderBy('sequence').execute();
    expect(pending.map((e) => [e.type, e.dispatched_at])).toEqual([
      ['user.invited', expect.any(Date)],
      ['invitation.revoked', null],
      ['user.deactivated', null],
    ]);
    await settle(1000);
    expect(receiver.acceptedFor(user.id)).toHaveLength(1);

    await h.restartWorker();
    await eventually(async () => receiver.acceptedFor(user.id).length >= 3, 20_000, 'the events after the restart');
    await settle();
    expect(types(receiver.acceptedFor(user.id))).toEqual(['user.invited', 'invitation.revoked', 'user.deactivated']);
    expect(new Set(receiver.received.filter((r) => r.json.data.userId === user.id).map((r) => r.headers['webhook-id'])).size).toBe(3);
    expect((await h.api('DELETE', `/api/v1/webhooks/${endpoint.id}`)).status).toBe(204);
    await receiver.close();
  });

  it('redelivers an event on request, with the same webhook-id, as a new entry in the log', async () => {
    const receiver = await startWebhookReceiver();
    const endpoint = await register_(receiver.url, ['user.invited']);
    const { user } = await invite('hook.again');
    await eventually(async () => receiver.acceptedFor(user.id).length === 1, 20_000, 'first delivery');
    const log = await h.api('GET', `/api/v1/webhooks/${endpoint.id}/deliveries`);
    const first = log.body.items.find((d: { userId: string }) => d.userId === user.id);

    const res = await h.api('POST', `/api/v1/webhooks/${endpoint.id}/deliveries/${first.id}/redeliver`, undefined, { 'x-actor': 'staff:anna' });
    expect(res.status).toBe(202);
    expect(res.body).toMatchObject({ redeliveryOf: first.id, status: 'pending', eventId: first.eventId });
    const both = await eventually(async () => receiver.acceptedFor(user.id).length === 2 && receiver.acceptedFor(user.id), 20_000, 'the redelivery');
    expect(both[1]!.headers['webhook-id']).toBe(first.eventId);
    expect(both[1]!.body).toBe(both[0]!.body);
    expect(new Webhook(endpoint.secret).verify(both[1]!.body, both[1]!.headers as Record<string, string>)).toMatchObject({ type: 'user.invited' });
    await eventually(async () => {
      const again = await h.api('GET', `/api/v1/webhooks/${endpoint.id}/deliveries?limit=1`);
      return again.body.items[0]?.id === res.body.id && again.body.items[0].status === 'succeeded';
    });

    expect((await h.api('POST', `/api/v1/webhooks/${endpoint.id}/deliveries/${crypto.randomUUID()}/redeliver`)).status).toBe(404);
    expect((await h.api('POST', `/api/v1/webhooks/${endpoint.id}/deliveries/not-a-uuid/redeliver`)).status).toBe(404);
    expect((await h.api('DELETE', `/api/v1/webhooks/${endpoint.id}`)).status).toBe(204);
    await receiver.close();
  });

  it('an endpoint that fails every attempt for the retry window is disabled, shown, audited and counted; nothing more is sent to it', async () => {
    const before = (await register.getSingleMetric('webhook_endpoints_disabled_total')!.get()).values[0]?.value ?? 0;
    const receiver = await startWebhookReceiver(() => 503);
    const endpoint = await register_(receiver.url, ['user.invited']);
    const { user } = await invite('hook.down');

    const disabled = await eventually(
      async () => {
        const res = await h.api('GET', `/api/v1/webhooks/${endpoint.id}`);
        return res.body.status === 'disabled' && res.body;
      },
      30_000,
      'the endpoint to be disabled',
    );
    expect(disabled.disabledReason).toMatch(/^every attempt failed since /);
    expect(disabled.disabledAt).not.toBeNull();
    // It was retried for the whole window (4 s here) before that.
    expect(Date.parse(disabled.disabledAt) - Date.parse(disabled.failingSince)).toBeGreaterThanOrEqual(3_500);
    const audit = await h.db.selectFrom('audit_events').selectAll().where('action', '=', 'webhook.endpoint_disabled').execute();
    // (audit details are stored as a JSON text today; read either way)
    expect(audit.map((a) => (typeof a.details === 'string' ? JSON.parse(a.details) : a.details))).toContainEqual(expect.objectContaining({ endpointId: endpoint.id }));
    expect((await register.getSingleMetric('webhook_endpoints_disabled_total')!.get()).values[0]!.value).toBe(before + 1);
    // The endpoint is disabled first; its delivery is marked failed right after (a loaded box shows the gap).
    const entry = await eventually(async () => {
      const log = await h.api('GET', `/api/v1/webhooks/${endpoint.id}/deliveries`);
      const found = log.body.items.find((d: { userId: string }) => d.userId === user.id);
      return found?.status === 'failed' && found;
    }, 10_000, 'the delivery marked failed');
    expect(entry.attempts).toBeGreaterThanOrEqual(4);
    expect(entry).toMatchObject({ lastResponseStatus: 503, lastResponseBody: 'no luck (503)' });

    // Disabled: later events are kept for it, pending, and nothing is sent.
    const attempts = receiver.received.length;
    const later = await invite('hook.later');
    await eventually(async () => (await h.db.selectFrom('webhook_events').select('dispatched_at').where('user_id', '=', later.user.id).executeTakeFirst())?.dispatched_at);
    await settle();
    expect(receiver.received.length).toBe(attempts);
    expect(await h.db.selectFrom('webhook_deliveries').select('status').where('user_id', '=', later.user.id).execute()).toEqual([{ status: 'pending' }]);
    // A redelivery must wait until it is enabled again; enabling starts a fresh count.
    expect((await h.api('POST', `/api/v1/webhooks/${endpoint.id}/deliveries/${entry.id}/redeliver`)).status).toBe(409);
    const enabled = await h.api('PATCH', `/api/v1/webhooks/${endpoint.id}`, { status: 'enabled' });
    expect(enabled.body).toMatchObject({ status: 'enabled', failingSince: null, disabledAt: null });
    expect((await h.api('DELETE', `/api/v1/webhooks/${endpoint.id}`)).status).toBe(204);
    await receiver.close();
  });
});

describe('a disabled endpoint', () => {
  it('keeps the events raised while it is disabled and delivers them, in order per user, when it is enabled again', async () => {
    const receiver = await startWebhookReceiver();
    const endpoint = await register_(receiver.url, ALL_BUT_MAIL);
    const first = await invite('hook.off.a');
    await eventually(async () => receiver.acceptedFor(first.user.id).length === 1, 20_000, 'user.invited before disabling');

    expect((await h.api('PATCH', `/api/v1/webhooks/${endpoint.id}`, { status: 'disabled' }, { 'x-actor': 'staff:anna' })).status).toBe(200);
    expect((await h.api('DELETE', `/api/v1/invitations/${first.invitation.id}`)).status).toBe(204);
    expect((await h.api('POST', `/api/v1/users/${first.user.id}/reactivate`)).status).toBe(200);
    const second = await invite('hook.off.b');
    expect((await h.api('DELETE', `/api/v1/users/${second.user.id}`)).status).toBe(204);
    // Every event was handed to the endpoint's lanes and waits there; none went out.
    await eventually(async () => (await h.db.selectFrom('webhook_events').select('id').where('dispatched_at', 'is', null).where('user_id', 'in', [first.user.id, second.user.id]).execute()).length === 0);
    await settle(1000);
    expect(receiver.received).toHaveLength(1);
    const raised = async (userId: string) =>
      (await h.db.selectFrom('webhook_events').select(['type', 'sequence']).where('user_id', '=', userId).where('type', '!=', 'email.failed').orderBy('sequence').execute()).map((e) => [e.type, Number(e.sequence)]);
    const [eventsA, eventsB] = [await raised(first.user.id), await raised(second.user.id)];
    expect(eventsA.map(([type]) => type)).toEqual(['user.invited', 'invitation.revoked', 'user.deactivated', 'user.reactivated']);
    expect(eventsB.map(([type]) => type)).toEqual(['user.invited', 'user.deleted']);
    const waiting = await h.db.selectFrom('webhook_deliveries').select('status').where('endpoint_id', '=', endpoint.id).where('status', '=', 'pending').execute();
    expect(waiting).toHaveLength(eventsA.length - 1 + eventsB.length);

    expect((await h.api('PATCH', `/api/v1/webhooks/${endpoint.id}`, { status: 'enabled' }, { 'x-actor': 'staff:anna' })).status).toBe(200);
    const a = await eventually(async () => receiver.acceptedFor(first.user.id).length >= eventsA.length && receiver.acceptedFor(first.user.id), 20_000, "the first user's events");
    const b = await eventually(async () => receiver.acceptedFor(second.user.id).length >= eventsB.length && receiver.acceptedFor(second.user.id), 20_000, "the second user's events");
    await settle();
    // Each user's events, in the order they were raised, each once.
    expect(a.map((r) => [r.json.type, r.json.data.sequence])).toEqual(eventsA);
    expect(b.map((r) => [r.json.type, r.json.data.sequence])).toEqual(eventsB);
    expect(receiver.received).toHaveLength(eventsA.length + eventsB.length);
    const log = await h.api('GET', `/api/v1/webhooks/${endpoint.id}/deliveries?limit=100`);
    expect(log.body.items.map((d: { status: string }) => d.status)).toEqual(Array(eventsA.length + eventsB.length).fill('succeeded'));
    expect((await h.api('DELETE', `/api/v1/webhooks/${endpoint.id}`)).status).toBe(204);
    await receiver.close();
  });
});

describe('each event comes from its real trigger', () => {
  it('accepting through the link, and a mail the server refuses', async () => {
    const receiver = await startWebhookReceiver();
    const endpoint = await register_(receiver.url, ['invitation.accepted', 'email.failed']);
    const accepting = await invite('hook.accept');
    const mail = await h.mail.waitFor((m) => m.to.includes('hook.accept@example.com'), 15_000);
    const accepted = await h.api('POST', '/api/v1/public/invitations/accept', { token: linkFrom(mail.text).token, password: 'correct horse battery staple' }, { authorization: '' });
    expect(accepted.status).toBe(200);
    const bouncing = await invite('hook.bounce', 'bounce.me@example.com');

    const [acceptEvent] = await eventually(async () => receiver.acceptedFor(accepting.user.id).length > 0 && receiver.acceptedFor(accepting.user.id), 20_000, 'invitation.accepted');
    expect(acceptEvent!.json).toMatchObject({ type: 'invitation.accepted', data: { invitationId: accepting.invitation.id, via: 'invitation_link', sequence: 2 } });
    const [failEvent] = await eventually(async () => receiver.acceptedFor(bouncing.user.id).length > 0 && receiver.acceptedFor(bouncing.user.id), 20_000, 'email.failed');
    const email = await h.db.selectFrom('emails').selectAll().where('user_id', '=', bouncing.user.id).executeTakeFirstOrThrow();
    expect(email.status).toBe('failed');
    expect(failEvent!.json).toMatchObject({ type: 'email.failed', data: { emailId: email.id, emailType: 'user_invitation', invitationId: bouncing.invitation.id, actor: 'system' } });
    expect(failEvent!.json.data.error).toMatch(/550/);
    // Subscriptions filter: neither user's user.invited went to this endpoint.
    expect(receiver.received.map((r) => r.json.type)).not.toContain('user.invited');
    expect((await h.api('DELETE', `/api/v1/webhooks/${endpoint.id}`)).status).toBe(204);
    await receiver.close();
  });

  it('the event is in the same transaction as its change: a change that rolls back leaves no event', async () => {
    const { user } = await invite('hook.rollback');
    const count = async () => (await h.db.selectFrom('webhook_events').select('id').where('user_id', '=', user.id).execute()).length;
    const before = await count();
    // A transaction that dies after its audit row (a crash before commit) leaves no event,
    // and no hole in the user's sequence.
    await expect(
      h.db.transaction().execute(async (tx) => {
        await recordAudit(tx, { actor: { name: 'staff:x', key: null }, action: 'user.deleted', userId: user.id });
        throw new Error('the process died before commit');
      }),
    ).rejects.toThrow('died');
    expect(await count()).toBe(before);
    // An overwrite that commits records its event with the change.
    const ok = await h.api('PATCH', `/api/v1/users/${user.id}`, { username: 'hook.renamed', email: 'renamed@example.com' });
    expect(ok.status).toBe(200);
    const events = await h.db.selectFrom('webhook_events').selectAll().where('user_id', '=', user.id).orderBy('sequence').execute();
    expect(events.map((e) => [e.type, Number(e.sequence), e.data.reason, e.data.cause])).toEqual([
      ['user.invited', 1, undefined, undefined],
      ['user.deactivated', 2, 'staff', 'overwritten'],
    ]);
  });
});

describe('endpoints', () => {
  const strictApp = () => createApp({ ...h.deps, config: Object.freeze({ ...h.config, WEBHOOK_ALLOW_PRIVATE: false }) });
  const post = async (app: ReturnType<typeof createApp>, url: string) => {
    const res = await app.request('/api/v1/webhooks', {
      method: 'POST',
      headers: { authorization: `Bearer ${h.config.ADMIN_API_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ url, events: ['user.invited'] }),
    });
    return { status: res.status, body: await res.json() };
  };

  it('refuses loopback, link-local, private and localhost targets, also behind a name, with a 422 naming url (WEBHOOK_ALLOW_PRIVATE=false)', async () => {
    const app = strictApp();
    const count = async () => (await h.db.selectFrom('webhook_endpoints').select('id').execute()).length;
    const before = await count();
    for (const url of [
      'http://127.0.0.1/hook',
      'http://127.1.2.3:8080/hook',
      'http://2130706433/', // 127.0.0.1 as one number
      'http://0x7f.1/',
      'http://10.1.2.3/',
      'http://172.16.0.1/',
      'http://192.168.1.1/',
      'http://169.254.169.254/latest/meta-data',
      'http://100.64.0.1/',
      'http://0.0.0.0/',
      'http://[::1]/',
      'http://[::ffff:127.0.0.1]/',
      'http://[fc00::1]/',
      'http://[fd12:3456::1]/',
      'http://[fe80::1]/',
      'http://localhost:3000/',
      'http://api.localhost/',
      'http://rebind.test/', // a name that resolves to 127.0.0.1
      'http://mixed.test/', // one public and one private address: refused
      'http://nowhere.test/', // does not resolve: cannot be checked
      'ftp://public.test/',
      'http://user:pw@public.test/',
    ]) {
      const res = await post(app, url);
      expect(res.status, url).toBe(422);
      expect(res.body.errors.map((e: { field: string }) => e.field), url).toEqual(['url']);
    }
    expect(await count()).toBe(before);

    const publicOne = await post(app, 'https://public.test/hooks');
    expect(publicOne.status).toBe(201);
    expect((await h.api('DELETE', `/api/v1/webhooks/${publicOne.body.id}`)).status).toBe(204);
    // With WEBHOOK_ALLOW_PRIVATE=true (this file's app) private targets are allowed.
    for (const url of ['http://10.1.2.3/', 'http://[fd12::1]:8080/', 'http://localhost:3000/']) {
      const res = await post(h.app, url);
      expect(res.status, url).toBe(201);
      expect((await h.api('DELETE', `/api/v1/webhooks/${res.body.id}`)).status).toBe(204);
    }
    // A change of URL is checked the same way.
    const created = await post(app, 'https://public.test/hooks');
    const patched = await app.request(`/api/v1/webhooks/${created.body.id}`, {
      method: 'PATCH',
      headers: { authorization: `Bearer ${h.config.ADMIN_API_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ url: 'http://169.254.169.254/' }),
    });
    expect(patched.status).toBe(422);
    expect((await h.api('GET', `/api/v1/webhooks/${created.body.id}`)).body.url).toBe('https://public.test/hooks');
    expect((await h.api('DELETE', `/api/v1/webhooks/${created.body.id}`)).status).toBe(204);
  });

  it('creating, changing, rotating the secret of, disabling, enabling and deleting an endpoint are in the audit trail with who did it', async () => {
    const secretHolder = 'https://hooks.public.test/services/T000/B000/token-of-the-receiver';
    const created = await h.api('POST', '/api/v1/webhooks', { url: secretHolder, events: ['user.invited'], description: 'crm' }, { 'x-actor': 'staff:anna' });
    expect(created.status).toBe(201);
    const id = created.body.id as string;
    const as = (actor: string) => ({ 'x-actor': actor });
    expect((await h.api('PATCH', `/api/v1/webhooks/${id}`, { url: 'http://127.0.0.1:9/other', events: ['user.invited', 'user.deleted'] }, as('staff:bo'))).status).toBe(200);
    expect((await h.api('PATCH', `/api/v1/webhooks/${id}`, { rotateSecret: true }, as('staff:cem'))).status).toBe(200);
    expect((await h.api('PATCH', `/api/v1/webhooks/${id}`, { status: 'disabled' }, as('staff:dora'))).status).toBe(200);
    // Asking for what already is changes nothing and records nothing.
    expect((await h.api('PATCH', `/api/v1/webhooks/${id}`, { status: 'disabled' }, as('staff:dora'))).status).toBe(200);
    expect((await h.api('PATCH', `/api/v1/webhooks/${id}`, { status: 'enabled' }, as('staff:eli'))).status).toBe(200);
    expect((await h.api('DELETE', `/api/v1/webhooks/${id}`, undefined, as('staff:fay'))).status).toBe(204);

    const trail = await h.api('GET', '/api/v1/audit-events?limit=100');
    expect(trail.status).toBe(200);
    const mine = (trail.body.items as { action: string; actor: string; via: string; details: Record<string, unknown> }[]).filter((e) => e.details.endpointId === id).reverse();
    expect(mine.map((e) => [e.action, e.actor, e.via])).toEqual([
      ['webhook.endpoint_created', 'staff:anna', 'bootstrap'],
      ['webhook.endpoint_changed', 'staff:bo', 'bootstrap'],
      ['webhook.endpoint_secret_rotated', 'staff:cem', 'bootstrap'],
      ['webhook.endpoint_disabled', 'staff:dora', 'bootstrap'],
      ['webhook.endpoint_enabled', 'staff:eli', 'bootstrap'],
      ['webhook.endpoint_deleted', 'staff:fay', 'bootstrap'],
    ]);
    expect(mine[0]!.details).toMatchObject({ destination: 'https://hooks.public.test', events: ['user.invited'], secret: 'generated' });
    expect(mine[1]!.details).toEqual({
      endpointId: id,
      changes: { destination: { from: 'https://hooks.public.test', to: 'http://127.0.0.1:9' }, events: { from: ['user.invited'], to: ['user.invited', 'user.deleted'] } },
    });
    // Neither the receiver's token in the URL nor the secret is ever in the trail.
    const text = JSON.stringify(mine);
    expect(text).not.toContain('token-of-the-receiver');
    expect(text).not.toContain(created.body.secret.slice(6));
    expect(text).not.toContain('whsec_');
    expect((await h.api('GET', '/api/v1/audit-events?action=webhook.endpoint_deleted&actor=staff:fay')).body.items).toHaveLength(1);
  });

  it('shows the secret once, keeps it sealed, and answers bad input with problems', async () => {
    const chosen = `whsec_${Buffer.alloc(24, 1).toString('base64')}`;
    const created = await h.api('POST', '/api/v1/webhooks', { url: 'http://127.0.0.1:9/x', events: ['user.deleted'], secret: chosen });
    expect(created.status).toBe(201);
    expect(created.body.secret).toBe(chosen);
    const row = await h.db.selectFrom('webhook_endpoints').selectAll().where('id', '=', created.body.id).executeTakeFirstOrThrow();
    expect(row.secret_ciphertext).not.toContain(chosen.slice(6));
    const got = await h.api('GET', `/api/v1/webhooks/${created.body.id}`);
    expect(got.body.secret).toBeUndefined();
    expect((await h.api('GET', '/api/v1/webhooks')).body.items.map((e: { secret?: string }) => e.secret)).not.toContain(chosen);
    const rotated = await h.api('PATCH', `/api/v1/webhooks/${created.body.id}`, { rotateSecret: true, events: ['user.deleted', 'user.invited'] });
    expect(rotated.status).toBe(200);
    expect(rotated.body.secret).toMatch(/^whsec_/);
    expect(rotated.body.secret).not.toBe(chosen);
    expect(rotated.body.events).toEqual(['user.deleted', 'user.invited']);

    for (const body of [
      { url: 'http://127.0.0.1/', events: [] },
      { url: 'http://127.0.0.1/', events: ['user.exploded'] },
      { url: 'http://127.0.0.1/', events: ['user.invited'], secret: 'whsec_c2hvcnQ=' },
      { url: 'http://127.0.0.1/', events: ['user.invited'], secret: 'plain' },
      { url: 'not a url', events: ['user.invited'] },
      { url: 'http://127.0.0.1/', events: ['user.invited'], extra: 1 },
    ]) {
      const res = await h.api('POST', '/api/v1/webhooks', body);
      expect(res.status, JSON.stringify(body)).toBe(422);
      expect(res.headers.get('content-type')).toContain('application/problem+json');
    }
    expect((await h.api('PATCH', `/api/v1/webhooks/${created.body.id}`, {})).status).toBe(422);
    expect((await h.api('PATCH', `/api/v1/webhooks/${created.body.id}`, { secret: chosen, rotateSecret: true })).status).toBe(422);
    expect((await h.api('GET', '/api/v1/webhooks/nope')).status).toBe(404);
    expect((await h.api('GET', `/api/v1/webhooks/${crypto.randomUUID()}/deliveries`)).status).toBe(404);
    expect((await h.api('GET', `/api/v1/webhooks/${created.body.id}/deliveries?cursor=bogus`)).status).toBe(422);
    expect((await h.api('DELETE', `/api/v1/webhooks/${created.body.id}`)).status).toBe(204);
    expect((await h.api('DELETE', `/api/v1/webhooks/${created.body.id}`)).status).toBe(404);
  });
});
