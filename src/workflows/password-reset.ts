import { proxyActivities } from '@temporalio/workflow';
import type { createActivities } from '../activities/index.js';
import { createMailStep, mailActivities } from './mail-step.js';
import type { PasswordResetResult, PasswordResetWorkflowInput } from './password-reset.messages.js';

type Activities = ReturnType<typeof createActivities>;

const db = proxyActivities<Activities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute', maximumAttempts: 20 },
});
// A reset link lives for hours, not days: stop retrying a mail that can no longer help (and
// the mail step itself never sends once the link has expired or been used).
const mail = mailActivities('1 hour', '5 minutes');

/**
 * One "forgot password" request (R9). Started for every request, whether or not the address
 * belongs to a user, so the endpoint's answer and timing say nothing about accounts; the
 * lookup happens here. The link's lifetime is checked by the database when it is used.
 */
export async function passwordResetWorkflow(input: PasswordResetWorkflowInput): Promise<PasswordResetResult> {
  const expiresAt = new Date(Date.now() + input.ttlMs).toISOString();
  const prepared = await db.preparePasswordReset({ requestId: input.requestId, emailKey: input.emailKey, expiresAt });
  if (!prepared) return { mailed: false, mail: 'none' };
  const delivered = await createMailStep(mail).deliver(prepared.emailId);
  return { mailed: true, mail: delivered.mail === 'sent' ? 'sent' : 'failed' };
}
