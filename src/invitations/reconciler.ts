import type { Client } from '@temporalio/client';
import type { Config } from '../config.js';
import type { InvitationReconcilerWorkflow } from '../workflows/invitation-reconciler.messages.js';
import { invitationReconcilerWorkflowId, type ReconcilerSettings } from '../workflows/invitation-reconciler.messages.js';

/**
 * Every worker makes sure the task queue's reconciler runs; any number may ask at once
 * (USE_EXISTING). Its settings are those of the first worker that started it, until it
 * continues as new... with the same settings: restart it (terminate) to change them.
 */
export async function startInvitationReconciler(client: Client, config: Pick<Config, 'TEMPORAL_TASK_QUEUE' | 'INVITATION_RECONCILE_INTERVAL'>, graceMs = 60_000): Promise<void> {
  const settings: ReconcilerSettings = { intervalMs: config.INVITATION_RECONCILE_INTERVAL, graceMs };
  await client.workflow.start<InvitationReconcilerWorkflow>('invitationReconcilerWorkflow', {
    workflowId: invitationReconcilerWorkflowId(config.TEMPORAL_TASK_QUEUE),
    taskQueue: config.TEMPORAL_TASK_QUEUE,
    args: [settings],
    workflowIdConflictPolicy: 'USE_EXISTING',
    staticSummary: 'Restarts the workflows of pending invitations that are not running',
  });
}
