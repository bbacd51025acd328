import type { Client } from '@temporalio/client';
import type { Config } from '../config.js';
import type { DatabaseHandle } from '../db/database.js';
import type { SecretBox } from '../mail/secret-box.js';
import { nudgeDispatcherSignal, webhookDispatcherWorkflowId } from '../workflows/webhook.messages.js';
import { systemNetwork, type WebhookNetwork } from './address-policy.js';
import { webhookSettings } from './dispatcher.js';
import { disabledReporter, dispatchRound, laneWaker } from './dispatch-round.js';

/** A burst of commits is one round: at most one round per this long per process. */
const ROUND_GAP_MS = 50;
const ROUND_BUDGET_MS = 5_000;

export interface WakeUpDeps {
  secretBox: SecretBox;
  config: Config;
  webhookNetwork?: WebhookNetwork | undefined;
  log: { warn(obj: object, msg: string): void };
}

/**
 * Delivers new webhook events at commit (issue 19.3). A trigger NOTIFYs on `webhook_events`
 * at each commit that adds rows; every worker process LISTENs and runs a dispatch round right
 * here (the same round the dispatcher workflow runs as an activity): fan out, send the first
 * attempt of idle lanes, wake lanes with anything else. Temporal is not on this path, so a
 * busy task queue (invitations at full rate) does not delay events.
 *
 * The dispatcher workflow stays what makes it durable: anything this round did not finish (the
 * process died, the database hiccuped, a notification was lost while reconnecting) is still in
 * the outbox or waiting in a lane, and the dispatcher's next round (its timer) picks it up; a
 * round that fails here also nudges it at once. Rounds are coalesced: one at a time per
 * process, at most one per ROUND_GAP_MS, one more if something committed meanwhile; several
 * processes may run rounds at once (outbox rows are locked while fanned out, and the lane's
 * lease decides who sends). Returns a function that stops listening and waits for the round.
 */
export async function wakeWebhookDispatcherOnCommit(database: Pick<DatabaseHandle, 'listen' | 'db'>, client: Client, deps: WakeUpDeps): Promise<() => Promise<void>> {
  const { config, log } = deps;
  const dispatcher = client.workflow.getHandle(webhookDispatcherWorkflowId(config.TEMPORAL_TASK_QUEUE));
  const retry = webhookSettings(config).retry;
  const stop = new AbortController();
  const round = () =>
    dispatchRound({
      attempt: {
        db: database.db,
        secretBox: deps.secretBox,
        config,
        network: deps.webhookNetwork ?? systemNetwork,
        reportDisabled: disabledReporter((message, fields) => log.warn(fields, message)),
      },
      timeoutMs: config.WEBHOOK_TIMEOUT,
      retry,
      wake: laneWaker(client, config.TEMPORAL_TASK_QUEUE, retry),
      signal: stop.signal,
      budgetMs: ROUND_BUDGET_MS,
    });

  let running: Promise<void> | undefined;
  let again = false;
  const wake = () => {
    if (stop.signal.aborted) return;
    if (running) {
      again = true;
      return;
    }
    again = false;
    running = round()
      .then(({ more }) => {
        if (more) again = true;
      })
      .catch(async (error: Error) => {
        log.warn({ err: error.message }, 'a webhook dispatch round failed here; the dispatcher workflow takes over');
        await dispatcher.signal(nudgeDispatcherSignal).catch(() => {});
      })
      .then(() => new Promise<void>((resolve) => setTimeout(resolve, ROUND_GAP_MS).unref()))
      .finally(() => {
        running = undefined;
        if (again) wake();
      });
  };
  try {
    const subscription = await database.listen('webhook_events', wake);
    return async () => {
      stop.abort('the process is stopping');
      await subscription.unlisten();
      await running;
    };
  } catch (error) {
    log.warn({ err: (error as Error).message }, 'cannot LISTEN for new webhook events; the dispatcher runs on its timer (WEBHOOK_DISPATCH_INTERVAL) only');
    return async () => {};
  }
}
