import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AppDeps } from '../src/deps.js';
import { acceptInvitation } from '../src/invitations/invitation.service.js';
import { stateQuery } from '../src/workflows/invitation.messages.js';
import { startTimeSkippingService, type TimeSkippingService } from './support/time-skipping.js';

/**
 * The 28-day lifetime, on Temporal's time-skipping test server: the real INVITATION_TTL,
 * not a shortened one, with real activities against Postgres and SMTP.
 */
let s: TimeSkippingService;
const DAY = 86_400_000;
beforeAll(async () => {
  s = await startTimeSkippingService();
});
afterAll(async () => s?.close());

describe('an invitation not accepted within its lifetime', () => {
  it('uses 28 days by default', () => {
    expect(s.config.INVITATION_TTL).toBe(28 * DAY);
  });

  it('leaves the user invited until the last minute, then inactive at 28 days', async () => {
    const { input, handle, link } = await s.invite('late.larry');
    await s.env.sleep(28 * DAY - 60_000);
    const before = await handle.query(stateQuery);
    expect(before.phase).toBe('waiting');
    expect((await s.userRow(input.userId)).status).toBe('invited');

    const final = await handle.result(); // the test server skips the last minute
    expect(final.outcome).toBe('expired');
    const user = await s.userRow(input.userId);
    expect(user.status).toBe('inactive');
    expect(user.deactivation_reason).toBe('invitation_expired');
    expect(user.deactivated_at).not.toBeNull();
    const invitation = await s.db.selectFrom('invitations').selectAll().where('id', '=', input.invitationId).executeTakeFirstOrThrow();
    expect(invitation.status).toBe('expired');
    // The deadline the workflow kept is exactly the configured lifetime after its start.
    expect(Date.parse(final.expiresAt) - Date.parse(invitation.created_at.toISOString())).toBeGreaterThan(28 * DAY - 5 * 60_000);

    // The link is dead afterwards.
    await expect(acceptInvitation(s.deps, link.token, 'a perfectly fine passphrase')).rejects.toMatchObject({ type: 'LinkInvalidOrExpired' });
  });

  it('an accept one minute before the deadline wins, and nothing deactivates the user later', async () => {
    const { input, handle, link } = await s.invite('just.in.time');
    await s.env.sleep(28 * DAY - 60_000);
    const user = await acceptInvitation(s.deps, link.token, 'a perfectly fine passphrase');
    expect(user.status).toBe('active');

    const final = await handle.result();
    expect(final.outcome).toBe('accepted');
    await s.env.sleep(30 * DAY);
    expect((await s.userRow(input.userId)).status).toBe('active');
  });

  it('an accept whose signal never arrived still wins when the timer fires (the database decides)', async () => {
    const { input, handle, link } = await s.invite('lost.signal');
    // Accept with a client that cannot reach Temporal: the row commits, the signal is lost.
    const offline = { ...s.deps, temporal: { workflow: { getHandle: () => ({ signal: async () => Promise.reject(new Error('unavailable')) }) } } } as unknown as AppDeps;
    await acceptInvitation(offline, link.token, 'a perfectly fine passphrase');
    expect((await handle.query(stateQuery)).phase).toBe('waiting');

    const final = await handle.result();
    expect(final.outcome).toBe('accepted');
    expect((await s.userRow(input.userId)).status).toBe('active');
  });
});
