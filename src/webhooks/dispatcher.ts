import type { Client } from '@temporalio/client';
import type { Config } from '../config.js';
import type { WebhookDispatcherWorkflow } from '../workflows/webhook.messages.js';
import { webhookDispatcherWorkflowId, webhookSettingsSignal, type WebhookSettings } from '../workflows/webhook.messages.js';

export function webhookSettings(config: Pick<Config, 'WEBHOOK_DISPATCH_INTERVAL' | 'WEBHOOK_RETRY_INITIAL_INTERVAL' | 'WEBHOOK_RETRY_MAX_INTERVAL' | 'WEBHOOK_RETRY_WINDOW'>): WebhookSettings {
  return {
    dispatchIntervalMs: config.WEBHOOK_DISPATCH_INTERVAL,
    retry: { initialMs: config.WEBHOOK_RETRY_INITIAL_INTERVAL, maximumMs: config.WEBHOOK_RETRY_MAX_INTERVAL, windowMs: config.WEBHOOK_RETRY_WINDOW },
  };
}

/**
 * Every worker process makes sure the task queue's dispatcher runs, and hands it the current
 * settings: signal-with-start starts it once and only signals it after that, so any number
 * of workers may do this at once.
 */
export async function startWebhookDispatcher(client: Client, config: Config): Promise<void> {
  const settings = webhookSettings(config);
  await client.workflow.signalWithStart<WebhookDispatcherWorkflow, [WebhookSettings]>('webhookDispatcherWorkflow', {
    workflowId: webhookDispatcherWorkflowId(config.TEMPORAL_TASK_QUEUE),
    taskQueue: config.TEMPORAL_TASK_QUEUE,
    args: [settings],
    signal: webhookSettingsSignal,
    signalArgs: [settings],
    staticSummary: 'Hands committed webhook events to their delivery workflows',
  });
}
