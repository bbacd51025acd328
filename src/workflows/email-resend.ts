import { allHandlersFinished, condition, setHandler } from '@temporalio/workflow';
import { createMailStep, mailActivities } from './mail-step.js';
import { resendUpdate, type EmailResendWorkflowInput } from './mail.messages.js';

// The same SMTP policy as the reset workflow: the copy carries the same short-lived link.
const mail = mailActivities('1 hour', '5 minutes');

/**
 * An exact copy of a mail whose own workflow has ended (a password-reset mail), started with
 * its `resend` update (Update-with-Start) and keyed by the copy's idempotency key, so a
 * double click joins the same run. It ends when the copy's delivery has.
 */
export async function emailResendWorkflow(_input: EmailResendWorkflowInput): Promise<{ emailIds: string[] }> {
  const mailStep = createMailStep(mail);
  const emailIds: string[] = [];
  setHandler(resendUpdate, async (request) => {
    const copy = await mailStep.resend(request);
    emailIds.push(copy.emailId);
    return copy;
  });
  // The update arrives with the start; a run nobody updated (e.g. started by hand) ends at once.
  await condition(() => allHandlersFinished() && mailStep.idle());
  return { emailIds };
}
