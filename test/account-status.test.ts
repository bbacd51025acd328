import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { invitationWorkflowId } from '../src/workflows/invitation.messages.js';
import { eventually, linkFrom, startHarness, type Harness } from './support/harness.js';

/** R11's overwrite, R7's address change, and a database that lost a record, end to end. */
let h: Harness;
let short: Harness; // invitations live 3 s
beforeAll(async () => {
  [h, short] = await Promise.all([startHarness(), startHarness({ config: { INVITATION_TTL: '3s' } })]);
});
afterAll(async () => {
  await Promise.all([h?.close(), short?.close()]);
});

const pub = { authorization: '' };

async function invited(harness: Harness, username: string, email = `${username}@example.com`) {
  const res = await harness.api('POST', '/api/v1/invitations', { username, email, userType: 'member', locale: 'en' });
  expect(res.status).toBe(201);
  const mail = await harness.mail.waitFor((m) => m.to.includes(email) && m.text.includes('/invitations/accept'));
  return { user: res.body.user as { id: string }, invitationId: res.body.invitation.id as string, token: linkFrom(mail.text).token };
}

describe('overwriting an invitee (R11)', () => {
  it('ends the invitation: the old link is dead, resets die, the user is inactive, the workflow ends, both names are free', async () => {
    const { user, invitationId, token } = await invited(h, 'ow1');
    await h.api('POST', '/api/v1/public/password-resets', { email: 'ow1@example.com' }, pub);
    const resetMail = await h.mail.waitFor((m) => m.to.includes('ow1@example.com') && m.text.includes('/password/reset'));
    const resetToken = linkFrom(resetMail.text, '/password/reset').token;

    const patched = await h.api('PATCH', `/api/v1/users/${user.id}`, { username: 'ow1-old', email: 'ow1-old@example.invalid' });
    expect(patched.status).toBe(200);
    expect(patched.body).toMatchObject({
      username: 'ow1-old',
      status: 'inactive',
      deactivationReason: 'overwritten',
      overwrite: { endedInvitationId: invitationId, reason: 'overwritten' },
    });
    expect(patched.body.nextSteps.join(' ')).toContain('ow1@example.com');

    const accept = await h.api('POST', '/api/v1/public/invitations/accept', { token, password: 'nobody should get in here' }, pub);
    expect(accept.status).toBe(410);
    const reset = await h.api('POST', '/api/v1/public/password-resets/complete', { token: resetToken, password: 'nor through the reset link' }, pub);
    expect(reset.status).toBe(410);
    const final = await h.client.workflow.getHandle(invitationWorkflowId(user.id)).result();
    expect(final.outcome).toBe('revoked');
    const view = await h.api('GET', `/api/v1/users/${user.id}`);
    expect(view.body).toMatchObject({ status: 'inactive', emailVerified: false, invitation: { status: 'revoked' } });

    // The name and the address are free for the person to be invited anew (a new user).
    const again = await h.api('POST', '/api/v1/invitations', { username: 'ow1', email: 'ow1@example.com', userType: 'member' });
    expect(again.status).toBe(201);
    expect(again.body.user.id).not.toBe(user.id);
  });

  it('an overwrite done in two edits (name, then address) ends the invitation too', async () => {
    const { user, token } = await invited(h, 'two.step');
    const renamed = await h.api('PATCH', `/api/v1/users/${user.id}`, { username: 'two.step-old' });
    expect(renamed.body).toMatchObject({ status: 'invited' });
    const moved = await h.api('PATCH', `/api/v1/users/${user.id}`, { email: 'two.step-old@example.invalid' });
    expect(moved.body).toMatchObject({ status: 'inactive', deactivationReason: 'overwritten' });
    expect((await h.api('POST', '/api/v1/public/invitations/accept', { token, password: 'the old invitee walks in' }, pub)).status).toBe(410);
  });

  it('an overwritten record cannot be brought back with "forgot password"', async () => {
    const { user } = await invited(h, 'ow.back');
    await h.api('PATCH', `/api/v1/users/${user.id}`, { username: 'ow.back2', email: 'ow.back2@example.com' });
    const asked = await h.api('POST', '/api/v1/public/password-resets', { email: 'ow.back2@example.com' }, pub);
    expect(asked.status).toBe(202); // the same neutral answer as always
    await h.resetWorkflowsSettled(2);
    expect(h.mail.messages().some((m) => m.to.includes('ow.back2@example.com'))).toBe(false);
  });

  it('replacing only the username of an invitee is a rename, not an overwrite', async () => {
    const { user, token } = await invited(h, 'rename.only');
    const patched = await h.api('PATCH', `/api/v1/users/${user.id}`, { username: 'renamed.only' });
    expect(patched.body).toMatchObject({ status: 'invited' });
    expect(patched.body.overwrite).toBeUndefined();
    expect((await h.api('POST', '/api/v1/public/invitations/accept', { token, password: 'renamed and still welcome' }, pub)).status).toBe(200);
  });
});

describe('a link confirms only the address it was mailed to (R4, R7)', () => {
  it('after an address change, accepting the old link activates the user but leaves the new address unconfirmed', async () => {
    const { user, token } = await invited(h, 'moved.max', 'max@old.example');
    expect((await h.api('PATCH', `/api/v1/users/${user.id}`, { email: 'max@new.example' })).status).toBe(200);
    const accept = await h.api('POST', '/api/v1/public/invitations/accept', { token, password: 'accepted from the old box' }, pub);
    expect(accept.status).toBe(200);
    expect(accept.body.user).toMatchObject({ status: 'active', email: 'max@new.example', emailVerified: false });
  });

  it('without a change, accepting confirms the address', async () => {
    const { token } = await invited(h, 'stayed.sam');
    const accept = await h.api('POST', '/api/v1/public/invitations/accept', { token, password: 'accepted where it was sent' }, pub);
    expect(accept.body.user).toMatchObject({ status: 'active', emailVerified: true });
  });
});

describe('a record the database no longer has (a restore, a manual delete)', () => {
  it('ends the invitation workflow with outcome gone at its deadline, counted in the metrics, instead of retrying forever', async () => {
    const metric = async () => {
      const text = await short.metrics();
      const line = text.split('\n').find((l) => l.startsWith('invitation_records_gone_total{step="expireInvitation"}'));
      return line ? Number(line.split(' ').at(-1)) : 0;
    };
    const before = await metric();
    const { user, invitationId } = await invited(short, 'gone.gina');
    // What a restore from an older backup looks like to the workflow: its invitation is gone.
    await short.db.deleteFrom('emails').where('invitation_id', '=', invitationId).execute();
    await short.db.deleteFrom('invitations').where('id', '=', invitationId).execute();

    const handle = short.client.workflow.getHandle(invitationWorkflowId(user.id));
    const final = await eventually(async () => {
      const { status } = await handle.describe();
      return status.name === 'COMPLETED' && (await handle.result());
    }, 20_000, 'the workflow to end');
    expect(final.outcome).toBe('gone');
    expect(await metric()).toBe(before + 1);
    // Nothing was changed for the user, who still exists.
    expect((await short.api('GET', `/api/v1/users/${user.id}`)).body.status).toBe('invited');
  });
});
