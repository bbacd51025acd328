import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CancelledFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createWebhookActivities } from '../src/activities/webhooks.js';
import { recordAudit } from '../src/audit/audit.repository.js';
import { createSecretBox } from '../src/mail/secret-box.js';
import { dispatchOutbox } from '../src/webhooks/outbox.repository.js';
import { postWebhook, WebhookSendError } from '../src/webhooks/sender.js';
import { eventually, startHarness, testWebhookNetwork, type Harness } from './support/harness.js';

/**
 * One webhook attempt at a time, each with a total deadline (issue 14.5): a receiver that
 * trickles its answer is cut off at WEBHOOK_TIMEOUT, an attempt Temporal gave up is aborted,
 * and no two attempts of one lane (endpoint and user) are ever in flight together.
 */

/**
 * A receiver that answers each request as `behave` says, and counts, per webhook-id and per
 * user, how many of its connections are open at once (the most it ever saw).
 */
async function startCountingReceiver(behave: (res: ServerResponse, nth: number) => void) {
  const open = new Map<string, number>();
  const most = new Map<string, number>();
  const closedEarly: string[] = [];
  let requests = 0;
  const enter = (key: string) => {
    open.set(key, (open.get(key) ?? 0) + 1);
    most.set(key, Math.max(most.get(key) ?? 0, open.get(key)!));
  };
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const json = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { data: { userId: string } };
      const keys = [`event:${String(req.headers['webhook-id'])}`, `user:${json.data.userId}`];
      keys.forEach(enter);
      res.on('close', () => {
        keys.forEach((k) => open.set(k, open.get(k)! - 1));
        if (!res.writableFinished) closedEarly.push(keys[0]!);
      });
      behave(res, ++requests);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hooks`,
    most,
    /** Requests whose connection closed before the receiver finished answering (the client hung up). */
    closedEarly,
    requests: () => requests,
    close: () => {
      server.closeAllConnections();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Headers at once, then one byte every `everyMs`, `bytes` of them: never idle, never done in time. */
const trickle = (bytes: number, everyMs: number) => (res: ServerResponse) => {
  res.writeHead(200, { 'content-type': 'text/plain', 'content-length': bytes });
  res.flushHeaders();
  let sent = 0;
  const timer = setInterval(() => {
    if (res.destroyed) return clearInterval(timer);
    res.write('.');
    if (++sent === bytes) {
      clearInterval(timer);
      res.end();
    }
  }, everyMs);
};

const hang = () => () => {};
const answerAfter = (ms: number) => (res: ServerResponse) => {
  setTimeout(() => res.writeHead(200).end('thanks'), ms);
};

describe('the POST itself', () => {
  const body = JSON.stringify({ type: 'user.deleted', timestamp: new Date().toISOString(), data: { userId: 'u1' } });
  const options = { allowPrivate: true, network: testWebhookNetwork() };

  it('cuts off a receiver that sends its headers and then a byte at a time, at the total deadline (not per read)', async () => {
    // 20 bytes, one per 200 ms: no read ever waits 1 s, the whole answer takes 4 s.
    const receiver = await startCountingReceiver(trickle(20, 200));
    const attempt = postWebhook(receiver.url, body, { 'webhook-id': 'msg_trickle' }, { ...options, timeoutMs: 1_000 });
    await expect(attempt).rejects.toThrow(/no complete answer within 1000 ms/);
    await expect(attempt).rejects.toBeInstanceOf(WebhookSendError);
    // We hung up; the receiver never got to finish its answer.
    await eventually(async () => receiver.closedEarly.includes('event:msg_trickle'), 5_000, 'the connection closed by us');
    await receiver.close();
  });

  it('aborts the request when its signal fires (the activity was cancelled or timed out)', async () => {
    const receiver = await startCountingReceiver(hang());
    const controller = new AbortController();
    const attempt = postWebhook(receiver.url, body, { 'webhook-id': 'msg_abort' }, { ...options, timeoutMs: 30_000, signal: controller.signal });
    await eventually(async () => receiver.requests() === 1, 5_000, 'the request to arrive');
    controller.abort('the activity timed out');
    await expect(attempt).rejects.toThrow(/aborted: the activity timed out/);
    await eventually(async () => receiver.closedEarly.includes('event:msg_abort'), 5_000, 'the connection closed by us');
    await receiver.close();
  });
});

describe('attempts of one lane', () => {
  let h: Harness;
  beforeAll(async () => {
    // No dispatcher here: these tests run the activity themselves, as Temporal retries would.
    h = await startHarness({ config: { WEBHOOK_ALLOW_PRIVATE: 'true', WEBHOOK_TIMEOUT: '5s' } });
  });
  afterAll(async () => h?.close());

  const activities = () =>
    createWebhookActivities({
      db: h.db,
      config: h.config,
      secretBox: createSecretBox(Buffer.from(h.config.EMAIL_ENCRYPTION_KEY!, 'hex')),
      webhookNetwork: testWebhookNetwork(),
      mailer: undefined as never,
    });

  /** An endpoint, and `count` events for each user fanned out to it: their delivery ids, per user, oldest first. */
  async function lanes(url: string, users: string[], count: number): Promise<string[][]> {
    const endpoint = await h.api('POST', '/api/v1/webhooks', { url, events: ['user.reactivated'] });
    expect(endpoint.status).toBe(201);
    for (const userId of users) {
      for (let i = 0; i < count; i++) {
        await h.db.transaction().execute((tx) => recordAudit(tx, { actor: { name: 'staff:test', key: null }, action: 'user.reactivated', userId, details: { deadline: 'x' } }));
      }
    }
    await h.db.transaction().execute((tx) => dispatchOutbox(tx, 1000, { includePii: false }));
    return Promise.all(
      users.map(async (userId) =>
        (await h.db.selectFrom('webhook_deliveries').select('id').where('endpoint_id', '=', endpoint.body.id).where('user_id', '=', userId).orderBy('position').execute()).map((d) => d.id),
      ),
    );
  }

  // The refusals below are expected; the SDK would log each as a warning.
  const quiet = new DefaultLogger('ERROR');
  const attempt = (deliveryId: string, env = new MockActivityEnvironment({ attempt: 1 }, { logger: quiet })) => env.run(activities().attemptWebhookDelivery, { deliveryId, windowMs: 60_000 });

  it('a second attempt while one is in flight waits for it, for the same delivery and for the next one of the lane; other lanes go on', async () => {
    const receiver = await startCountingReceiver(answerAfter(1_500));
    const [a, b] = [crypto.randomUUID(), crypto.randomUUID()];
    const [laneA, laneB] = await lanes(receiver.url, [a, b], 2);
    const [a1, a2] = laneA!;
    const [b1] = laneB!;

    const first = attempt(a1!);
    await eventually(async () => receiver.requests() === 1, 5_000, 'the first attempt to connect');
    // Temporal retried a1 (its first attempt timed out in Temporal's eyes), the lane moved on
    // to a2 after giving a1 up, and another user's lane runs: all at once.
    const results = await Promise.allSettled([attempt(a1!), attempt(a2!), attempt(b1!)]);
    expect(results[0]).toMatchObject({ status: 'rejected', reason: { type: 'WebhookAttemptInFlight' } });
    expect(results[1]).toMatchObject({ status: 'rejected', reason: { type: 'WebhookAttemptInFlight' } });
    // The refusal says how long the lease has left, and Temporal waits that long before retrying.
    expect((results[0] as PromiseRejectedResult).reason.nextRetryDelay).toBeGreaterThan(0);
    expect(results[2]).toEqual({ status: 'fulfilled', value: 'succeeded' });
    expect(await first).toBe('succeeded');

    expect(receiver.most.get(`user:${a}`)).toBe(1);
    expect(receiver.requests()).toBe(2); // a1 once, b1 once; nothing sent twice
    const log = await h.db.selectFrom('webhook_deliveries').select(['id', 'status', 'attempts', 'attempt_token']).where('id', 'in', [a1!, a2!]).orderBy('position').execute();
    expect(log).toEqual([
      { id: a1, status: 'succeeded', attempts: 1, attempt_token: null },
      { id: a2, status: 'pending', attempts: 0, attempt_token: null },
    ]);
    // Once the lane is free, its next delivery goes.
    expect(await attempt(a2!)).toBe('succeeded');
    await receiver.close();
  });

  it('an attempt Temporal cancels aborts its request and frees the lane at once', async () => {
    const receiver = await startCountingReceiver(hang());
    const [d1] = (await lanes(receiver.url, [crypto.randomUUID()], 1))[0]!;
    const env = new MockActivityEnvironment({ attempt: 1 }, { logger: quiet });
    const running = attempt(d1!, env);
    await eventually(async () => receiver.requests() === 1, 5_000, 'the attempt to connect');
    env.cancel('TIMED_OUT');
    await expect(running).rejects.toBeInstanceOf(CancelledFailure);
    await eventually(async () => receiver.closedEarly.length === 1, 5_000, 'the connection closed by us');
    const row = await h.db.selectFrom('webhook_deliveries').select(['status', 'attempt_token']).where('id', '=', d1!).executeTakeFirstOrThrow();
    expect(row).toEqual({ status: 'pending', attempt_token: null });
    await receiver.close();
  });
});

describe('through Temporal', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({
      webhooks: true,
      config: { WEBHOOK_ALLOW_PRIVATE: 'true', WEBHOOK_DISPATCH_INTERVAL: '200ms', WEBHOOK_RETRY_INITIAL_INTERVAL: '100ms', WEBHOOK_RETRY_MAX_INTERVAL: '300ms', WEBHOOK_TIMEOUT: '1s' },
    });
  });
  afterAll(async () => h?.close());

  it('a trickling receiver is cut off at WEBHOOK_TIMEOUT and the event is retried, never two connections at once, and logged succeeded only after the retry', async () => {
    // The first request trickles its 200 for 6 s; later ones answer at once.
    const receiver = await startCountingReceiver((res, nth) => (nth === 1 ? trickle(30, 200)(res) : res.writeHead(200).end('thanks')));
    const endpoint = await h.api('POST', '/api/v1/webhooks', { url: receiver.url, events: ['user.invited'] });
    const invited = await h.api('POST', '/api/v1/invitations', { username: 'hook.trickle', email: 'hook.trickle@example.com', userType: 'member', locale: 'en' });
    expect(invited.status).toBe(201);
    const userId = invited.body.user.id as string;

    const entry = await eventually(
      async () => {
        const log = await h.api('GET', `/api/v1/webhooks/${endpoint.body.id}/deliveries`);
        const found = log.body.items.find((d: { userId: string }) => d.userId === userId);
        return found?.status === 'succeeded' && found;
      },
      20_000,
      'the delivery to succeed',
    );
    expect(entry.attempts).toBe(2);
    expect(receiver.closedEarly).toHaveLength(1);
    expect(receiver.requests()).toBe(2);
    expect(receiver.most.get(`user:${userId}`)).toBe(1);
    await receiver.close();
  });
});
