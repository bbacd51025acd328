import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ActivityDeps } from '../src/activities/index.js';
import { createInvitationActivities } from '../src/activities/invitation.js';
import { acceptInvitation } from '../src/invitations/invitation.service.js';
import { linkFrom, startHarness, type Harness } from './support/harness.js';

/**
 * Issue 14.3: expiry asks the database's clock, like accept does. A timer that fires a
 * little early (the worker's clock runs ahead) must not take away an accept that the
 * database still allows.
 */
let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => h?.close());

describe('the expiry step fires before the deadline by the database clock', () => {
  it('waits for it, so an accept the database still allows wins', async () => {
    const res = await h.api('POST', '/api/v1/invitations', { username: 'early.timer', email: 'early.timer@example.com', userType: 'member', locale: 'en' });
    expect(res.status).toBe(201);
    const invitationId = res.body.invitation.id as string;
    const { token } = linkFrom((await h.mail.waitFor((m) => m.to.includes('early.timer@example.com'))).text);
    // Due in 2 s by the database's clock; the step runs now, as if its timer fired early.
    await h.db.updateTable('invitations').set({ expires_at: sql<Date>`now() + interval '2 seconds'` }).where('id', '=', invitationId).execute();
    const step = createInvitationActivities({ db: h.db, config: h.config } as unknown as ActivityDeps);
    const expiring = step.expireInvitation({ invitationId });

    await new Promise((resolve) => setTimeout(resolve, 500));
    const user = await acceptInvitation(h.deps, token, 'a perfectly fine passphrase');
    expect(user.status).toBe('active');
    expect(await expiring).toBe('accepted');
    const row = await h.db.selectFrom('invitations').select('status').where('id', '=', invitationId).executeTakeFirstOrThrow();
    expect(row.status).toBe('accepted');
  });
});
