import type { Client } from '@temporalio/client';
import type { Config } from '../config.js';
import type { DatabaseHandle } from '../db/database.js';
import { nudgeDispatcherSignal, webhookDispatcherWorkflowId } from '../workflows/webhook.messages.js';

/** At most one nudge per this long per process: a burst of commits is one round, not one signal each. */
const NUDGE_GAP_MS = 100;

/**
 * Wakes the webhook dispatcher when new outbox rows commit (issue 19.3): LISTEN on the
 * `webhook_events` channel (a trigger NOTIFYs at each inserting commit) and signal the
 * dispatcher. Signals are coalesced: one in flight at a time, at most one per NUDGE_GAP_MS,
 * and one more after it if something committed meanwhile; a round drains everything committed
 * before it starts, so nothing waits for a nudge that was skipped. Where LISTEN is not
 * available (it failed), the dispatcher's durable timer still picks every event up.
 * Returns a function that stops listening.
 */
export async function wakeWebhookDispatcherOnCommit(
  database: Pick<DatabaseHandle, 'listen'>,
  client: Client,
  config: Pick<Config, 'TEMPORAL_TASK_QUEUE'>,
  log: { warn(obj: object, msg: string): void },
): Promise<() => Promise<void>> {
  const handle = client.workflow.getHandle(webhookDispatcherWorkflowId(config.TEMPORAL_TASK_QUEUE));
  let busy = false;
  let again = false;
  let stopped = false;
  const nudge = () => {
    if (stopped) return;
    if (busy) {
      again = true;
      return;
    }
    busy = true;
    again = false;
    handle
      .signal(nudgeDispatcherSignal)
      .catch((error: Error) => log.warn({ err: error.message }, 'could not nudge the webhook dispatcher; its timer will pick the events up'))
      .finally(() => {
        setTimeout(() => {
          busy = false;
          if (again) nudge();
        }, NUDGE_GAP_MS).unref();
      });
  };
  try {
    const subscription = await database.listen('webhook_events', nudge);
    return async () => {
      stopped = true;
      await subscription.unlisten();
    };
  } catch (error) {
    log.warn({ err: (error as Error).message }, 'cannot LISTEN for new webhook events; the dispatcher runs on its timer (WEBHOOK_DISPATCH_INTERVAL) only');
    return async () => {};
  }
}
