/** What the reconciler is told by the worker that starts it. */
export interface ReconcilerSettings {
  intervalMs: number;
  /** Invitations younger than this are left alone: the API may be between its start and its insert. */
  graceMs: number;
}

/** One reconciler per task queue, like the webhook dispatcher. */
export const invitationReconcilerWorkflowId = (taskQueue: string) => `invitation-reconciler-${taskQueue}`;
