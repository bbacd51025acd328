/**
 * Reference workflows for the benchmark: the invitation workflow's shape with steps that
 * cost nothing (Update-with-Start whose update returns after the first step, three steps,
 * then a long durable timer), once with local and once with regular activities. What they
 * reach on the same server is the ceiling the orchestration allows.
 */
import { condition, defineUpdate, proxyActivities, proxyLocalActivities, setHandler } from '@temporalio/workflow';

export interface ReferenceActivities {
  register(input: { id: string }): Promise<{ id: string }>;
  prepare(input: { id: string }): Promise<{ emailId: string }>;
  deliver(input: { emailId: string }): Promise<'sent'>;
}

export const referenceRegisterUpdate = defineUpdate<{ id: string }>('register');

const local = proxyLocalActivities<ReferenceActivities>({ startToCloseTimeout: '30 seconds' });
const regular = proxyActivities<ReferenceActivities>({ startToCloseTimeout: '30 seconds' });

async function sameShape(steps: ReferenceActivities, input: { id: string }): Promise<void> {
  const state: { registered?: { id: string } } = {};
  setHandler(referenceRegisterUpdate, async () => {
    await condition(() => state.registered !== undefined);
    return state.registered!;
  });
  state.registered = await steps.register(input);
  const { emailId } = await steps.prepare(input);
  await steps.deliver({ emailId });
  await condition(() => false, '28 days');
}

export async function referenceInvitationLocal(input: { id: string }): Promise<void> {
  await sameShape(local, input);
}

export async function referenceInvitationRegular(input: { id: string }): Promise<void> {
  await sameShape(regular, input);
}
