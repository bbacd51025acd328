import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listAuditTrail } from '../src/audit/audit.service.js';
import { revokeInvitationById } from '../src/invitations/invitation.service.js';
import { reactivateUser } from '../src/reactivation/reactivation.service.js';
import { reactivationWorkflowId } from '../src/workflows/reactivation.messages.js';
import { startTimeSkippingService, type TimeSkippingService } from './support/time-skipping.js';

/** What the service does on its own, on the time-skipping server: the trail names it `system`, with no key. */
let s: TimeSkippingService;
beforeAll(async () => {
  s = await startTimeSkippingService();
});
afterAll(async () => s?.close());

const eventsOf = async (userId: string) => (await listAuditTrail(s.deps, { userId, limit: 100 })).items;

describe('the audit trail of what the service does by itself', () => {
  it('records the expiry of an invitation after its lifetime as actor system, without a key', async () => {
    const { input, handle } = await s.invite('expiring.emil');
    expect((await handle.result()).outcome).toBe('expired');
    const [expiry] = await eventsOf(input.userId);
    expect(expiry).toMatchObject({ action: 'invitation.expired', actor: 'system', via: null, apiKey: null, details: { invitationId: input.invitationId } });
    const bySystem = await listAuditTrail(s.deps, { actor: 'system', action: 'invitation.expired', limit: 100 });
    expect(bySystem.items.map((e) => e.userId)).toContain(input.userId);
  });

  it('records the midnight deactivation after an unused manual reactivation as actor system', async () => {
    const { input } = await s.invite('midnight.mia');
    const staff = { name: 'staff:gina', key: 'bootstrap' };
    await revokeInvitationById(s.deps, input.invitationId, staff);
    const { deadline } = await reactivateUser(s.deps, input.userId, staff);
    const handle = s.env.client.workflow.getHandle(reactivationWorkflowId(input.userId));
    expect((await handle.result()).outcome).toBe('deactivated');
    const events = await eventsOf(input.userId);
    expect(events.map((e) => e.action)).toEqual(['user.reactivation_expired', 'user.reactivated', 'invitation.revoked', 'user.invited']);
    expect(events[0]).toMatchObject({ actor: 'system', via: null, details: { deadline } });
    expect(events[1]).toMatchObject({ actor: 'staff:gina', via: 'bootstrap' });
  });
});
