import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { invitationWorkflowId, stateQuery } from '../src/workflows/invitation.messages.js';
import { eventually, linkFrom, startHarness, type Harness } from './support/harness.js';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => h?.close());

const invite = (overrides: Record<string, unknown> = {}) =>
  h.api('POST', '/api/v1/invitations', { username: 'erika.muster', email: 'Erika@Example.com', userType: 'member', locale: 'en', ...overrides }, { 'x-actor': 'staff:anna' });

describe('inviting a person (R1–R3)', () => {
  it('creates the user as invited, mails a personal link, and the invitee can set a password and log in', async () => {
    const res = await invite();
    expect(res.status).toBe(201);
    const { user, invitation } = res.body;
    expect(user).toMatchObject({ username: 'erika.muster', email: 'Erika@Example.com', userType: 'member', isStaff: false, status: 'invited', permissions: [] });
    expect(res.headers.get('location')).toBe(`/api/v1/users/${user.id}`);
    const lifetime = Date.parse(invitation.expiresAt) - Date.parse(user.createdAt);
    expect(Math.abs(lifetime - 28 * 86_400_000)).toBeLessThan(60_000);

    // R2: immediately in the overview
    const overview = await h.api('GET', '/api/v1/users?status=invited');
    expect(overview.body.items.map((u: { id: string }) => u.id)).toContain(user.id);

    const mail = await h.mail.waitFor((m) => m.to.some((to) => to.toLowerCase() === 'erika@example.com'), 15_000);
    expect(mail.headers.to).toContain('Erika@'); // the local part as staff typed it
    expect(mail.subject).toMatch(/invitation/i);
    const link = linkFrom(mail.text);
    expect(link.url.startsWith('http://localhost:3999/invitations/accept?lang=en#token=')).toBe(true);
    expect(mail.html).toContain(link.url);

    // The email log says sent, and holds no usable token.
    const logged = await eventually(async () => {
      const row = await h.db.selectFrom('emails').selectAll().where('user_id', '=', user.id).executeTakeFirst();
      return row?.status === 'sent' && row;
    });
    expect(logged.attempts).toBe(1);
    expect(logged.smtp_response).toMatch(/^250 /); // R13: "sent" means the server accepted it
    expect(JSON.stringify(logged)).not.toContain(link.token);
    const invitationRow = await h.db.selectFrom('invitations').selectAll().where('id', '=', invitation.id).executeTakeFirstOrThrow();
    expect(invitationRow.token_hash).not.toContain(link.token);

    const accepted = await h.api('POST', '/api/v1/public/invitations/accept', { token: link.token, password: 'correct horse battery staple' }, { authorization: '' });
    expect(accepted.status).toBe(200);
    expect(accepted.body.user).toMatchObject({ id: user.id, status: 'active', emailVerified: true });
    expect(accepted.body.user.activatedAt).not.toBeNull();

    // The link cannot be used twice (R4).
    const again = await h.api('POST', '/api/v1/public/invitations/accept', { token: link.token, password: 'another long passphrase' }, { authorization: '' });
    expect(again.status).toBe(410);
    expect(again.headers.get('content-type')).toContain('application/problem+json');

    // The workflow ends its wait and says so.
    const handle = h.client.workflow.getHandle(invitationWorkflowId(user.id));
    const final = await handle.result();
    expect(final).toMatchObject({ outcome: 'accepted', mail: 'sent', phase: 'closed' });

    for (const login of ['erika.muster', 'ERIKA.MUSTER', 'erika@example.com']) {
      const res = await h.api('POST', '/api/v1/public/login', { login, password: 'correct horse battery staple' }, { authorization: '' });
      expect(res.status, login).toBe(200);
      expect(res.body.user.lastLoginAt).not.toBeNull();
    }
    const wrong = await h.api('POST', '/api/v1/public/login', { login: 'erika.muster', password: 'wrong horse battery staple' }, { authorization: '' });
    expect(wrong.status).toBe(401);
    const nobody = await h.api('POST', '/api/v1/public/login', { login: 'nobody', password: 'wrong horse battery staple' }, { authorization: '' });
    expect(nobody.status).toBe(401);
    expect(nobody.body.detail).toBe(wrong.body.detail);

    const audit = await h.db.selectFrom('audit_events').select(['action', 'actor']).where('user_id', '=', user.id).orderBy('id').execute();
    expect(audit.map((a) => a.action)).toEqual(['user.invited', 'invitation.accepted', 'user.login', 'user.login', 'user.login']);
    expect(audit[0]!.actor).toBe('staff:anna');
  });

  it('lets operators find the workflow by user id and username and query its state', async () => {
    const res = await invite({ username: 'operator.view', email: 'op@example.com' });
    const { user } = res.body;
    const handle = h.client.workflow.getHandle(invitationWorkflowId(user.id));
    const state = await eventually(async () => {
      const s = await handle.query(stateQuery);
      return s.phase === 'waiting' && s;
    });
    expect(state).toMatchObject({ userId: user.id, mail: 'sent', outcome: null });
    for (const query of [`UserId = "${user.id}"`, `Username = "operator.view"`]) {
      const found = await eventually(async () => {
        const ids: string[] = [];
        for await (const wf of h.client.workflow.list({ query })) ids.push(wf.workflowId);
        return ids.length > 0 && ids;
      }, 15_000, `visibility for ${query}`);
      expect(found).toEqual([invitationWorkflowId(user.id)]);
    }
    // Staff rename the user (R5): operators find the workflow under the new name.
    expect((await h.api('PATCH', `/api/v1/users/${user.id}`, { username: 'operator.renamed' })).status).toBe(200);
    const renamed = await eventually(async () => {
      const ids: string[] = [];
      for await (const wf of h.client.workflow.list({ query: 'Username = "operator.renamed"' })) ids.push(wf.workflowId);
      return ids.length > 0 && ids;
    }, 15_000, 'visibility after the rename');
    expect(renamed).toEqual([invitationWorkflowId(user.id)]);
  });
});
