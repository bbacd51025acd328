import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, startHarness, type Harness } from './support/harness.js';
import { startWebhookReceiver } from './support/webhook-receiver.js';

/**
 * A mail server that takes connections and never greets holds an SMTP attempt until the
 * greeting timeout (here a minute). Such attempts run on the mail task queue with slots of
 * their own (WORKER_MAX_CONCURRENT_MAIL_ACTIVITIES), so they cannot take the slots the
 * dispatcher's database steps and the webhook deliveries need (issue 19.4). The activity slots
 * are few here, so that before the split a handful of hung mails held them all.
 */
let h: Harness;
let hanging = true;
beforeAll(async () => {
  h = await startHarness({
    webhooks: true,
    config: {
      WEBHOOK_ALLOW_PRIVATE: 'true',
      WEBHOOK_DISPATCH_INTERVAL: '200ms',
      WORKER_MAX_CONCURRENT_ACTIVITIES: '2',
      WORKER_MAX_CONCURRENT_MAIL_ACTIVITIES: '2',
      WORKER_MAX_CONCURRENT_WEBHOOK_ACTIVITIES: '2',
      SMTP_GREETING_TIMEOUT: '60s',
      SMTP_SOCKET_TIMEOUT: '10s',
    },
    mail: { hang: () => hanging },
  });
});
afterAll(async () => {
  hanging = false;
  await h?.close();
});

describe('a hanging mail server', () => {
  it('holds only the mail slots: webhook events about the invitations still go out while their mails hang', async () => {
    const receiver = await startWebhookReceiver();
    try {
      const endpoint = await h.api('POST', '/api/v1/webhooks', { url: receiver.url, events: ['user.invited'] }, { 'x-actor': 'staff:anna' });
      expect(endpoint.status, JSON.stringify(endpoint.body)).toBe(201);
      const userIds: string[] = [];
      // More mails than every activity slot together: each one hangs in its greeting.
      for (const username of ['slots.a', 'slots.b', 'slots.c', 'slots.d', 'slots.e']) {
        const res = await h.api('POST', '/api/v1/invitations', { username, email: `${username}@example.com`, userType: 'member', locale: 'en' }, { 'x-actor': 'staff:anna' });
        expect(res.status, JSON.stringify(res.body)).toBe(201);
        userIds.push((res.body as { user: { id: string } }).user.id);
      }
      // The outbox → dispatcher (database steps on the main queue) → delivery (webhook queue)
      // path goes on; generous bound, far below the hung attempts' minute.
      await eventually(async () => userIds.every((id) => receiver.acceptedFor(id).length === 1), 30_000, 'every user.invited event delivered');
      // ... while no mail has got through: they are still hanging, or waiting for a mail slot.
      const mails = await h.db.selectFrom('emails').select(['status']).where('user_id', 'in', userIds).execute();
      expect(mails.length).toBeGreaterThan(0);
      expect(mails.filter((m) => m.status === 'sent')).toEqual([]);
      expect(h.mail.messages()).toEqual([]);
    } finally {
      await receiver.close();
    }
  });
});
