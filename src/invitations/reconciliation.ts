import { WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError, type Client } from '@temporalio/client';
import type { Config } from '../config.js';
import type { Database } from '../db/database.js';
import type { Logger } from '../log.js';
import { invitationsReconciled } from '../metrics.js';
import { invitationWorkflowId } from '../workflows/invitation.messages.js';
import { listPendingInvitations } from './invitation.repository.js';
import { startInvitationWorkflow } from './invitation.service.js';

export interface ReconcileDeps {
  db: Database;
  temporal: Client;
  config: Config;
  log: Logger;
}

/**
 * Every pending invitation has a running workflow (issue 14.8). One that an operator
 * terminated or cancelled in Temporal UI, or that was lost, would leave its user `invited`
 * for ever and every resend refused: it is started again with the invitation as the database
 * holds it. The restarted workflow finds its rows, never mails twice (the mail is keyed by
 * the invitation), and expires at once when the deadline has passed.
 * Only invitations older than `graceMs` are looked at: a younger one may be between the
 * API's start and its insert.
 */
export async function reconcilePendingInvitations(deps: ReconcileDeps, options: { graceMs: number; pageSize?: number }): Promise<{ checked: number; restarted: number }> {
  const before = new Date(Date.now() - options.graceMs);
  let afterId: string | null = null;
  let checked = 0;
  let restarted = 0;
  for (;;) {
    const page = await listPendingInvitations(deps.db, before, afterId, options.pageSize ?? 200);
    for (const row of page) {
      checked++;
      const found = await workflowStatus(deps.temporal, invitationWorkflowId(row.user_id));
      if (found === 'RUNNING') continue;
      try {
        await startInvitationWorkflow(
          deps,
          {
            userId: row.user_id,
            invitationId: row.invitation_id,
            username: row.username,
            email: row.email,
            userType: row.user_type,
            isStaff: row.is_staff,
            permissions: row.permissions,
            locale: row.locale,
            invitedBy: row.created_by,
            ttlMs: deps.config.INVITATION_TTL,
            expiresAt: new Date(row.expires_at).toISOString(),
            reminderMs: deps.config.INVITATION_REMINDER,
          },
          'FAIL',
        );
      } catch (error) {
        if (error instanceof WorkflowExecutionAlreadyStartedError) continue; // someone else restarted it
        throw error;
      }
      restarted++;
      invitationsReconciled.inc({ found: found.toLowerCase() });
      deps.log.warn({ userId: row.user_id, invitationId: row.invitation_id, found }, 'restarted the workflow of a pending invitation');
    }
    if (page.length < (options.pageSize ?? 200)) return { checked, restarted };
    afterId = page.at(-1)!.invitation_id;
  }
}

async function workflowStatus(temporal: Client, workflowId: string): Promise<string> {
  try {
    return (await temporal.workflow.getHandle(workflowId).describe()).status.name;
  } catch (error) {
    if (error instanceof WorkflowNotFoundError) return 'MISSING';
    throw error;
  }
}
