import { Context } from '@temporalio/activity';
import { connectTemporal } from '../src/runtime.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../src/api/app.js';
import type { createActivities } from '../src/activities/index.js';
import { invitationWorkflowId, stateQuery } from '../src/workflows/invitation.messages.js';
import { ADMIN_KEY, eventually, linkFrom, startHarness, type Harness } from './support/harness.js';

/**
 * Invariants when a process dies half-way (security.md 20–24):
 *  I1 every invited user has exactly one invitation workflow, and no workflow a second user;
 *  I2 a mail is sent at least once (twice only in the crash window, with the same Message-ID);
 *  I3 a retried step never mints a second link: the mailed link is the one that works;
 *  I4 if Temporal is unreachable, nothing is written;
 *  I5 timers survive a worker restart.
 * A "crash" is an activity attempt that commits its work and then fails before reporting
 * success, which is exactly what Temporal sees when a worker dies at that point.
 */
type Activities = ReturnType<typeof createActivities>;
type Wrap = (acts: Activities) => Activities;
const firstAttempt = () => Context.current().info.attempt === 1;

/**
 * The workflow's register step for a user named crash.* succeeds (it finds the rows the API
 * inserted), then its first attempt "dies" and is retried. The register step inserting the
 * rows itself, with a worker killed mid-task, is test/task-retry.test.ts.
 */
const crashAfterInsert: Wrap = (acts) => ({
  ...acts,
  async registerInvitedUser(input) {
    const result = await acts.registerInvitedUser(input);
    if (input.username.startsWith('crash.') && firstAttempt()) throw new Error('worker died after the insert committed');
    return result;
  },
});

let h: Harness;
let refuse: ((to: string[]) => { code: number; message: string } | undefined) | undefined;
beforeAll(async () => {
  h = await startHarness({
    wrapActivities: crashAfterInsert,
    mail: { reply: ({ to }) => refuse?.(to) },
  });
});
afterAll(async () => h?.close());

const invite = (username: string) => h.api('POST', '/api/v1/invitations', { username, email: `${username}@example.com`, userType: 'member', locale: 'en' });
const workflowsOf = async (userId: string) => {
  const ids: string[] = [];
  for await (const wf of h.client.workflow.list({ query: `UserId = "${userId}"` })) ids.push(wf.workflowId);
  return ids;
};

describe('nothing is lost when a process dies half-way', () => {
  it('I1: a crash in the register step still yields one user, one invitation, one workflow, one mail', async () => {
    const res = await invite('crash.register');
    expect(res.status).toBe(201);
    const userId = res.body.user.id;
    const users = await h.db.selectFrom('users').select('id').where('username_key', '=', 'crash.register').execute();
    expect(users).toEqual([{ id: userId }]);
    const invitations = await h.db.selectFrom('invitations').select('id').where('user_id', '=', userId).execute();
    expect(invitations).toHaveLength(1);
    const audits = await h.db.selectFrom('audit_events').select('action').where('user_id', '=', userId).where('action', '=', 'user.invited').execute();
    expect(audits).toHaveLength(1);
    await h.mail.waitFor((m) => m.to.includes('crash.register@example.com'));
    expect(await eventually(async () => (await workflowsOf(userId)).length === 1 && workflowsOf(userId), 15_000, 'visibility')).toEqual([invitationWorkflowId(userId)]);
  });

  it('I3 under an actual crash of the prepare step', async () => {
    await h.restartWorker((acts) => ({
      ...crashAfterInsert(acts),
      async prepareInvitationEmail(input: { invitationId: string }) {
        const result = await acts.prepareInvitationEmail(input);
        if (firstAttempt()) throw new Error('worker died after the mail was logged');
        return result;
      },
    }));
    try {
      const res = await invite('crash.prepare');
      const userId = res.body.user.id;
      const mail = await h.mail.waitFor((m) => m.to.includes('crash.prepare@example.com'));
      const state = await eventually(async () => {
        const s = await h.client.workflow.getHandle(invitationWorkflowId(userId)).query(stateQuery);
        return s.phase === 'waiting' && s;
      });
      expect(state.mail).toBe('sent');
      expect(await h.db.selectFrom('emails').select('id').where('user_id', '=', userId).execute()).toHaveLength(1);
      expect(h.mail.messages().filter((m) => m.to.includes('crash.prepare@example.com'))).toHaveLength(1);
      const accept = await h.api('POST', '/api/v1/public/invitations/accept', { token: linkFrom(mail.text).token, password: 'a perfectly fine passphrase' }, { authorization: '' });
      expect(accept.status).toBe(200);
    } finally {
      await h.restartWorker(crashAfterInsert);
    }
  });

  it('I2: an attempt that fails after SMTP accepted the mail (its log write lost) is recorded by the retry, not sent again', async () => {
    await h.restartWorker((acts) => ({
      ...crashAfterInsert(acts),
      async deliverEmail(input: { emailId: string }) {
        await acts.deliverEmail(input);
        if (firstAttempt()) {
          // SMTP took the mail, then `sent` did not commit (the database went away): undo that write.
          await h.db.updateTable('emails').set({ status: 'queued', sent_at: null }).where('id', '=', input.emailId).execute();
          throw new Error('the log write failed after SMTP accepted the mail');
        }
      },
    }));
    try {
      const res = await invite('crash.deliver');
      const userId = res.body.user.id;
      // The attempt told Temporal what the server answered before writing the log (a
      // heartbeat), so the retry records it instead of sending a copy. A worker killed in
      // that window may not have told Temporal: then the copy goes out with the same
      // Message-ID (invariant 2; test/worker-crash-mail.test.ts).
      const row = await eventually(async () => {
        const r = await h.db.selectFrom('emails').selectAll().where('user_id', '=', userId).executeTakeFirst();
        return r?.status === 'sent' && r;
      }, 30_000, 'the retry to record the mail');
      expect(row.attempts).toBe(1);
      expect(row.message_id).toBeTruthy();
      await new Promise((r) => setTimeout(r, 1500)); // room for a second copy, had one been sent
      expect(h.mail.messages().filter((m) => m.to.includes('crash.deliver@example.com'))).toHaveLength(1);
    } finally {
      await h.restartWorker(crashAfterInsert);
    }
  }, 60_000);

  it('I4: when Temporal is unreachable, inviting answers 503 at once, says nothing was created, and writes nothing', async () => {
    // The API's own client (a few quick retries, not the SDK's ten-second default).
    const offline = await connectTemporal(h.config, '127.0.0.1:1', h.payloadCodec, { lazy: true });
    const app = createApp({ ...h.deps, temporal: offline });
    const res = await app.request('/api/v1/invitations', {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'nobody.home', email: 'nobody.home@example.com', userType: 'member' }),
    });
    expect(res.status).toBe(503);
    expect(res.headers.get('content-type')).toContain('application/problem+json');
    expect(res.headers.get('retry-after')).toBe('5');
    // "Unreachable" is known, not guessed: the answer must not send the platform looking for a user.
    expect((await res.json()).detail).toMatch(/^The workflow service is unreachable, so this was not done/);
    expect(await h.db.selectFrom('users').select('id').where('username_key', '=', 'nobody.home').execute()).toEqual([]);
  }, 30_000);

  it('I5: a waiting invitation survives a worker restart and still completes', async () => {
    const res = await invite('restart.ruth');
    const link = linkFrom((await h.mail.waitFor((m) => m.to.includes('restart.ruth@example.com'))).text);
    await h.restartWorker(crashAfterInsert);
    const accept = await h.api('POST', '/api/v1/public/invitations/accept', { token: link.token, password: 'a perfectly fine passphrase' }, { authorization: '' });
    expect(accept.status).toBe(200);
    const final = await h.client.workflow.getHandle(invitationWorkflowId(res.body.user.id)).result();
    expect(final.outcome).toBe('accepted');
  });
});

describe('SMTP answers (security.md 23)', () => {
  it('a 5xx answer is permanent: the log shows failed with the server answer, the invitation stands', async () => {
    refuse = (to) => (to.includes('bounce.bob@example.com') ? { code: 550, message: 'mailbox unavailable' } : undefined);
    try {
      const res = await invite('bounce.bob');
      const userId = res.body.user.id;
      const row = await eventually(async () => {
        const r = await h.db.selectFrom('emails').selectAll().where('user_id', '=', userId).executeTakeFirst();
        return r?.status === 'failed' && r;
      });
      expect(row.error).toMatch(/550/);
      expect(row.attempts).toBe(1);
      const state = await eventually(async () => {
        const s = await h.client.workflow.getHandle(invitationWorkflowId(userId)).query(stateQuery);
        return s.phase === 'waiting' && s;
      });
      expect(state).toMatchObject({ mail: 'failed', mailError: expect.stringMatching(/550/) });
      expect((await h.api('GET', `/api/v1/users/${userId}`)).body.invitation.status).toBe('pending');
    } finally {
      refuse = undefined;
    }
  });

  it('a 4xx answer is retried with backoff until the server takes the mail', async () => {
    let refusals = 0;
    refuse = (to) => (to.includes('greylisted.gil@example.com') && refusals++ === 0 ? { code: 451, message: 'greylisted, try later' } : undefined);
    try {
      const res = await invite('greylisted.gil');
      await h.mail.waitFor((m) => m.to.includes('greylisted.gil@example.com'), 40_000);
      const row = await eventually(async () => {
        const r = await h.db.selectFrom('emails').selectAll().where('user_id', '=', res.body.user.id).executeTakeFirst();
        return r?.status === 'sent' && r;
      });
      expect(row.attempts).toBe(2);
      expect(row.error).toBeNull();
    } finally {
      refuse = undefined;
    }
  }, 60_000);
});
