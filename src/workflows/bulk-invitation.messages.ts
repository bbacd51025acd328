/**
 * The bulk invitation workflow's public surface: its id and input. The rows and their results
 * live in Postgres (bulk_rows), not in the workflow, so no query is needed: GET reads the table.
 */
export const bulkInvitationWorkflowId = (batchId: string) => `bulk-invitation-${batchId}`;

export interface BulkInvitationInput {
  batchId: string;
  /** BULK_INVITES_PER_SECOND when the batch was submitted (a workflow reads no environment). */
  perSecond: number;
  /** Ticks before the workflow continues as new (default 250); tests set a small number. */
  ticksPerRun?: number;
}

/** The workflow's signature, for services that start it: they import this file, never the workflow's code (docs/architecture.md). */
export type BulkInvitationWorkflow = (input: BulkInvitationInput) => Promise<void>;
