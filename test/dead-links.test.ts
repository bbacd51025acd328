import { Context } from '@temporalio/activity';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { createActivities } from '../src/activities/index.js';
import { invitationWorkflowId } from '../src/workflows/invitation.messages.js';
import { eventually, linkFrom, startHarness, type Harness } from './support/harness.js';

/**
 * No mail goes out once its link is dead (issue 6 #7: after a kill -9 and a restart, mails
 * went out seconds after their link had expired). Invitations live 3 s and reset links 3 s
 * here. A mail step for a "late.*" recipient first stalls past the link's deadline, as a
 * step does that a restarted worker picks up after the deadline, then runs for real.
 */
type Activities = ReturnType<typeof createActivities>;
let h: Harness;
const pub = { authorization: '' };

const stallPastDeadline = (acts: Activities): Activities => ({
  ...acts,
  async deliverEmail(input) {
    const row = await h.db.selectFrom('emails').select(['to_address', 'invitation_id', 'password_reset_id']).where('id', '=', input.emailId).executeTakeFirstOrThrow();
    if (row.to_address.startsWith('late.') && Context.current().info.attempt === 1) {
      const deadline = row.invitation_id
        ? (await h.db.selectFrom('invitations').select('expires_at').where('id', '=', row.invitation_id).executeTakeFirstOrThrow()).expires_at
        : (await h.db.selectFrom('password_resets').select('expires_at').where('id', '=', row.password_reset_id!).executeTakeFirstOrThrow()).expires_at;
      await new Promise((resolve) => setTimeout(resolve, new Date(deadline).getTime() - Date.now() + 500));
    }
    return acts.deliverEmail(input);
  },
});

beforeAll(async () => {
  h = await startHarness({ config: { INVITATION_TTL: '3s', PASSWORD_RESET_TTL: '3s' }, wrapActivities: stallPastDeadline as never });
});
afterAll(async () => h?.close());

const invite = (username: string) => h.api('POST', '/api/v1/invitations', { username, email: `${username}@example.com`, userType: 'member', locale: 'en' });

describe('a dead link is never mailed', () => {
  it('an invitation mail whose step resumes after expires_at is not sent; the log says why', async () => {
    const res = await invite('late.lena');
    expect(res.status).toBe(201);
    const final = await h.client.workflow.getHandle(invitationWorkflowId(res.body.user.id)).result();
    expect(final).toMatchObject({ outcome: 'expired', mail: 'skipped' });
    expect(h.mail.messages().filter((m) => m.to.includes('late.lena@example.com'))).toEqual([]);
    const log = (await h.api('GET', `/api/v1/emails?userId=${res.body.user.id}`)).body.items;
    expect(log).toMatchObject([{ status: 'failed', attempts: 0, error: 'not sent: the link is dead (expired)' }]);
    expect((await h.api('GET', `/api/v1/users/${res.body.user.id}`)).body.invitationEmail).toMatchObject({ status: 'failed' });
  });

  it('a reset mail whose step resumes after the link expired is not sent', async () => {
    const res = await invite('late.ron');
    await h.client.workflow.getHandle(invitationWorkflowId(res.body.user.id)).result();
    expect((await h.api('POST', '/api/v1/public/password-resets', { email: 'late.ron@example.com' }, pub)).status).toBe(202);
    await h.resetWorkflowsSettled(1);
    expect(h.mail.messages().filter((m) => m.to.includes('late.ron@example.com'))).toEqual([]);
    const log = (await h.api('GET', `/api/v1/emails?userId=${res.body.user.id}&type=password_reset`)).body.items;
    expect(log).toMatchObject([{ status: 'failed', error: 'not sent: the link is dead (expired)' }]);
  });

  it('an expired invitation cannot be re-sent: 410, and the detail says how to invite again (R11)', async () => {
    const res = await invite('gone.gina');
    const mail = await h.mail.waitFor((m) => m.to.includes('gone.gina@example.com'));
    expect(linkFrom(mail.text).token).toBeTruthy();
    await h.client.workflow.getHandle(invitationWorkflowId(res.body.user.id)).result();
    const emailId = (await h.api('GET', `/api/v1/emails?userId=${res.body.user.id}`)).body.items[0].id;
    const resend = await h.api('POST', `/api/v1/emails/${emailId}/resend`);
    expect(resend.status).toBe(410);
    expect(resend.body.type).toMatch(/invitation-expired$/);
    expect(resend.body.detail).toMatch(/delete the user/i);
    expect(resend.body.detail).toMatch(/overwrite/);
    expect(resend.body.detail).toMatch(/invite anew/);
    expect(await h.db.selectFrom('emails').select('id').where('resent_from', '=', emailId).execute()).toEqual([]);
  });

  it('a copy logged while the link lived is not sent once it has died', async () => {
    const res = await invite('late.lou');
    await eventually(async () => (await h.api('GET', `/api/v1/emails?userId=${res.body.user.id}`)).body.items.length === 1);
    const emailId = (await h.api('GET', `/api/v1/emails?userId=${res.body.user.id}`)).body.items[0].id;
    // The original stalls past the deadline; the copy, logged now, goes through the same check.
    const resend = await h.api('POST', `/api/v1/emails/${emailId}/resend`);
    expect(resend.status).toBe(202);
    await h.client.workflow.getHandle(invitationWorkflowId(res.body.user.id)).result();
    expect(h.mail.messages().filter((m) => m.to.includes('late.lou@example.com'))).toEqual([]);
    const copy = (await h.api('GET', `/api/v1/emails/${resend.body.email.id}`)).body;
    expect(copy).toMatchObject({ status: 'failed', error: 'not sent: the link is dead (expired)', resentFrom: emailId });
  });
});
