import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recordAudit } from '../src/audit/audit.repository.js';
import { DISPATCHER_HISTORY_BOUND } from '../src/workflows/webhook-dispatcher.js';
import { nudgeDispatcherSignal, webhookDispatcherWorkflowId } from '../src/workflows/webhook.messages.js';
import { eventually, startHarness, type Harness } from './support/harness.js';
import { startWebhookReceiver } from './support/webhook-receiver.js';

/**
 * The dispatcher's history stays bounded however many events pass (issue 19.3): it used to
 * grow by about five events per lane it woke and reached 10k events before continuing as new.
 * Not timed: it counts history events, runs and deliveries.
 */
let h: Harness;
beforeAll(async () => {
  h = await startHarness({
    webhooks: true,
    // A short fallback timer, so rounds (and history) pile up quickly; each commit nudges too.
    config: { WEBHOOK_ALLOW_PRIVATE: 'true', WEBHOOK_DISPATCH_INTERVAL: '20ms' },
  });
});
afterAll(async () => h?.close());

describe('the webhook dispatcher', () => {
  it('continues as new before its history passes the bound, and loses or doubles no event across it', { timeout: 240_000 }, async () => {
    const receiver = await startWebhookReceiver();
    const endpoint = await h.api('POST', '/api/v1/webhooks', { url: receiver.url, events: ['user.reactivated'] });
    expect(endpoint.status).toBe(201);
    const dispatcherId = webhookDispatcherWorkflowId(h.config.TEMPORAL_TASK_QUEUE);
    const firstRun = (await h.client.workflow.getHandle(dispatcherId).describe()).runId;

    // Events keep coming, each its own commit, across several of the dispatcher's runs.
    const users = Array.from({ length: 10 }, () => crypto.randomUUID());
    const perUser = 30;
    let runs = new Set<string>([firstRun]);
    for (let i = 0; i < perUser; i++) {
      for (const userId of users) {
        await h.db.transaction().execute((tx) => recordAudit(tx, { actor: { name: 'staff:bench', key: null }, action: 'user.reactivated', userId, details: { deadline: `d${i}` } }));
      }
      runs.add((await h.client.workflow.getHandle(dispatcherId).describe()).runId);
    }
    const total = users.length * perUser;
    await eventually(async () => receiver.received.length >= total, 60_000, 'every event delivered');
    // Its history grows with its rounds, not with the events. Drive rounds as fast as signals
    // can (each nudge is a round): it must continue as new rather than grow.
    const dispatcher = h.client.workflow.getHandle(dispatcherId);
    await eventually(async () => {
      await Promise.all(Array.from({ length: 20 }, () => dispatcher.signal(nudgeDispatcherSignal)));
      runs.add((await dispatcher.describe()).runId);
      return runs.size >= 2;
    }, 120_000, 'the dispatcher to continue as new');

    // Every run's history stayed within the bound, plus at most one round past it.
    runs = new Set<string>();
    for await (const execution of h.client.workflow.list({ query: `WorkflowId = "${dispatcherId}"` })) runs.add(execution.runId);
    expect(runs.size).toBeGreaterThanOrEqual(2);
    for (const runId of runs) {
      const { historyLength } = await h.client.workflow.getHandle(dispatcherId, runId).describe();
      expect(historyLength, runId).toBeLessThanOrEqual(DISPATCHER_HISTORY_BOUND + 50);
    }

    // Nothing lost or doubled across the runs, and each user's events in order.
    for (const userId of users) {
      const sequences = receiver.received.filter((r) => r.json.data.userId === userId).map((r) => r.json.data.sequence);
      expect(sequences, userId).toEqual(Array.from({ length: perUser }, (_, i) => i + 1));
    }
    await receiver.close();
  });
});
