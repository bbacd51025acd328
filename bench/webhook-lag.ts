/**
 * Webhook event lag (issue 19.3): invitations at a fixed rate, open-loop, each raising one
 * `user.invited` event, delivered through the whole path (outbox → dispatcher → lane workflow
 * → signed POST) to a receiver on 127.0.0.1. The lag of an event is the receiver's clock when
 * the POST arrived minus the event's own `timestamp` (when its transaction wrote it; same
 * machine, same clock). Beside it, a reference measured in the same run: the same events
 * signed and POSTed straight to the receiver by the same sender code, no outbox, no Temporal
 * (the floor of what a delivery costs here).
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import { systemNetwork } from '../src/webhooks/address-policy.js';
import { postWebhook } from '../src/webhooks/sender.js';
import { signWebhook } from '../src/webhooks/signing.js';
import { latencyStats, pool, type LatencyStats } from './lib.js';

export interface WebhookLagResult {
  ratePerSecond: number;
  seconds: number;
  invited: number;
  delivered: number;
  /** Events whose webhook-id arrived more than once (at-least-once allows it; it should be rare). */
  duplicates: number;
  undelivered: number;
  lagMs: LatencyStats | null;
  /** Events delivered per second, from the first invitation sent to the last event received. */
  eventsPerSecond: number;
  reference: { events: number; concurrency: number; eventsPerSecond: number; postMs: LatencyStats | null };
  /** Service events/s ÷ reference events/s. */
  ratioToReference: number;
}

export async function measureWebhookLag(options: {
  baseUrl: string;
  adminKey: string;
  ratePerSecond: number;
  seconds: number;
  tag: string;
  drainTimeoutMs: number;
  log: (line: string) => void;
}): Promise<WebhookLagResult> {
  const arrivals = new Map<string, { lagMs: number; count: number }>();
  let lastArrival = 0;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const now = Date.now();
      lastArrival = performance.now();
      const id = String(req.headers['webhook-id']);
      const seen = arrivals.get(id);
      if (seen) seen.count++;
      else {
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { timestamp: string };
        arrivals.set(id, { lagMs: now - Date.parse(body.timestamp), count: 1 });
      }
      res.writeHead(200).end('ok');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const receiverUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks`;
  try {
    const headers = { authorization: `Bearer ${options.adminKey}`, 'content-type': 'application/json' };
    const registered = await fetch(`${options.baseUrl}/api/v1/webhooks`, { method: 'POST', headers, body: JSON.stringify({ url: receiverUrl, events: ['user.invited'] }) });
    if (registered.status !== 201) throw new Error(`registering the bench endpoint answered ${registered.status}: ${await registered.text()}`);

    // Open loop: invitation i is sent at t0 + i/rate, whatever happened to the ones before.
    const total = Math.max(1, Math.round(options.ratePerSecond * options.seconds));
    let invited = 0;
    const started = performance.now();
    const sends: Promise<void>[] = [];
    for (let i = 0; i < total; i++) {
      const due = started + (i * 1000) / options.ratePerSecond;
      const wait = due - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      sends.push(
        fetch(`${options.baseUrl}/api/v1/invitations`, {
          method: 'POST',
          headers,
          body: JSON.stringify({ username: `w${options.tag}-${i}`, email: `hook-${options.tag}-${i}@example.com`, userType: 'member', locale: 'en' }),
        }).then(async (res) => {
          await res.text();
          if (res.status === 201) invited++;
        }, () => {}),
      );
    }
    await Promise.all(sends);
    const drainUntil = performance.now() + options.drainTimeoutMs;
    while (arrivals.size < invited && performance.now() < drainUntil) await new Promise((r) => setTimeout(r, 50));
    const delivered = arrivals.size;
    const elapsedMs = (delivered > 0 ? lastArrival : performance.now()) - started;
    options.log(`webhooks: ${delivered}/${invited} events delivered`);

    // The reference: the same number of events, signed and POSTed straight to the receiver.
    const secret = `whsec_${Buffer.alloc(32, 5).toString('base64')}`;
    const concurrency = 8;
    const postMs: number[] = [];
    const refStarted = performance.now();
    await pool(invited, concurrency, async (i) => {
      const id = `msg_reference_${options.tag}_${i}`;
      const body = JSON.stringify({ type: 'user.invited', timestamp: new Date().toISOString(), data: { userId: id, sequence: 1 } });
      const timestamp = Math.floor(Date.now() / 1000);
      const t = performance.now();
      await postWebhook(receiverUrl, body, { 'webhook-id': id, 'webhook-timestamp': String(timestamp), 'webhook-signature': signWebhook(secret, id, timestamp, body) }, {
        allowPrivate: true,
        network: systemNetwork,
        timeoutMs: 10_000,
      });
      postMs.push(performance.now() - t);
    });
    const refMs = performance.now() - refStarted;
    const perSecond = (count: number, ms: number) => (ms > 0 ? Math.round((count / (ms / 1000)) * 10) / 10 : 0);
    const eventsPerSecond = perSecond(delivered, elapsedMs);
    const referencePerSecond = perSecond(invited, refMs);
    const serviceArrivals = [...arrivals.entries()].filter(([id]) => !id.startsWith('msg_reference_'));
    return {
      ratePerSecond: options.ratePerSecond,
      seconds: options.seconds,
      invited,
      delivered,
      duplicates: serviceArrivals.filter(([, a]) => a.count > 1).length,
      undelivered: invited - delivered,
      lagMs: latencyStats(serviceArrivals.map(([, a]) => a.lagMs)),
      eventsPerSecond,
      reference: { events: invited, concurrency, eventsPerSecond: referencePerSecond, postMs: latencyStats(postMs) },
      ratioToReference: referencePerSecond > 0 ? Math.round((eventsPerSecond / referencePerSecond) * 100) / 100 : 0,
    };
  } finally {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
