/** What the reconciler is told by the worker that starts it. */
export interface ReconcilerSettings {
  intervalMs: number;
  /** Invitations younger than this are left alone: the API may be between its start and its insert. */
  graceMs: number;
}

/** One reconciler per task queue, like the webhook dispatcher. */
export const invitationReconcilerWorkflowId = (taskQueue: string) => `invitation-reconciler-${taskQueue}`;

/** The workflow's signature, for services that start it: they import this file, never the workflow's code (docs/architecture.md). */
export type InvitationReconcilerWorkflow = (settings: ReconcilerSettings) => Promise<void>;
