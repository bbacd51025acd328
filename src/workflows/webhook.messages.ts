/** The webhook workflows' public surface: ids, settings, signals. */
import { defineSignal } from '@temporalio/workflow';

/** One dispatcher per task queue (tests run several queues in one namespace). */
export const webhookDispatcherWorkflowId = (taskQueue: string) => `webhook-dispatcher-${taskQueue}`;
/** One delivery lane per endpoint and user: that user's events reach that endpoint in order. */
export const webhookLaneWorkflowId = (endpointId: string, userId: string) => `webhook-delivery-${endpointId}-${userId}`;

export interface WebhookRetrySettings {
  initialMs: number;
  maximumMs: number;
  /** How long one delivery is retried; an endpoint failing this long is disabled. */
  windowMs: number;
}

export interface WebhookSettings {
  /** The dispatcher's durable timer between rounds when nothing nudges it. */
  dispatchIntervalMs: number;
  retry: WebhookRetrySettings;
}

export interface WebhookLane {
  endpointId: string;
  userId: string;
  retry: WebhookRetrySettings;
}

/** Every worker start sends its settings (signal-with-start), so changed configuration takes effect. */
export const webhookSettingsSignal = defineSignal<[WebhookSettings]>('webhookSettings');
/** Something was queued (a redelivery): run a round now instead of at the next timer. */
export const nudgeDispatcherSignal = defineSignal('nudge');
/** The lane has more deliveries than when it last looked. */
export const moreDeliveriesSignal = defineSignal('moreDeliveries');

/** The workflow's signature, for services that start it: they import this file, never the workflow's code (docs/architecture.md). */
export type WebhookDispatcherWorkflow = (initial: WebhookSettings) => Promise<void>;
/** The workflow's signature, for services that start it: they import this file, never the workflow's code (docs/architecture.md). */
export type WebhookDeliveryWorkflow = (lane: WebhookLane) => Promise<void>;
