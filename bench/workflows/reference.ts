/**
 * Reference workflows for the benchmark: the invitation workflow's shape with steps that
 * cost nothing (started with its search attributes, three steps, then a long durable timer).
 * What they reach on the same server is the ceiling the orchestration allows:
 * - all three steps local activities (the ceiling, the strictest);
 * - the service's own mix: two local database steps, then a regular activity for SMTP;
 * - all three regular activities.
 */
import { condition, proxyActivities, proxyLocalActivities } from '@temporalio/workflow';

export interface ReferenceActivities {
  register(input: { id: string }): Promise<{ id: string }>;
  prepare(input: { id: string }): Promise<{ emailId: string }>;
  deliver(input: { emailId: string }): Promise<'sent'>;
}

const local = proxyLocalActivities<ReferenceActivities>({ startToCloseTimeout: '30 seconds' });
const regular = proxyActivities<ReferenceActivities>({ startToCloseTimeout: '30 seconds' });

async function sameShape(db: ReferenceActivities, smtp: ReferenceActivities, input: { id: string }): Promise<void> {
  await db.register(input);
  const { emailId } = await db.prepare(input);
  await smtp.deliver({ emailId });
  await condition(() => false, '28 days');
}

export async function referenceInvitationLocal(input: { id: string }): Promise<void> {
  await sameShape(local, local, input);
}

export async function referenceInvitationMixed(input: { id: string }): Promise<void> {
  await sameShape(local, regular, input);
}

export async function referenceInvitationRegular(input: { id: string }): Promise<void> {
  await sameShape(regular, regular, input);
}
