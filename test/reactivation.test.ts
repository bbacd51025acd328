import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { createActivities } from '../src/activities/index.js';
import type { AppDeps } from '../src/deps.js';
import { revokeInvitationById } from '../src/invitations/invitation.service.js';
import { completePasswordReset, requestPasswordReset } from '../src/password-resets/password-reset.service.js';
import { nextLocalMidnight } from '../src/reactivation/midnight.js';
import { reactivateUser } from '../src/reactivation/reactivation.service.js';
import { deleteUser } from '../src/accounts/user-admin.service.js';
import { login } from '../src/accounts/user.service.js';
import { stateQuery } from '../src/workflows/invitation.messages.js';
import { reactivationStateQuery, reactivationWorkflowId } from '../src/workflows/reactivation.messages.js';
import { eventually, linkFrom } from './support/harness.js';
import { startTimeSkippingService, type TimeSkippingService } from './support/time-skipping.js';
import type { Actor } from '../src/audit/actor.js';

const STAFF: Actor = { name: 'staff:test', key: 'bootstrap' };

/**
 * R10 on the time-skipping server: the midnight timer really runs, and really fires.
 * The API computes the deadline from the real clock, as in production; the test server's
 * clock starts at real time but runs ahead with every skip, so each test gets a fresh one.
 */
let s: TimeSkippingService;
const DAY = 86_400_000;

/** An invitee staff withdrew: inactive, never set a password (no time skipped to get there). */
async function inactiveInvitee(username: string) {
  const { input } = await s.invite(username);
  await revokeInvitationById(s.deps, input.invitationId, STAFF);
  // Not handle.result(): waiting on a result lets the test server skip time, and it may jump
  // to the invitation's 28-day timer before the revoke signal is processed.
  expect((await s.userRow(input.userId)).status).toBe('inactive');
  return input;
}

async function resetPassword(email: string, password: string) {
  const seen = new Set(s.mail.messages().map((m) => m.id));
  await requestPasswordReset(s.deps, email);
  const mail = await s.mail.waitFor((m) => !seen.has(m.id) && m.to.includes(email) && m.text.includes('/password/reset'), 15_000);
  await completePasswordReset(s.deps, linkFrom(mail.text, '/password/reset').token, password);
}

describe('a manual reactivation holds until local midnight unless the user logs in (R10)', () => {
  beforeEach(async () => {
    s = await startTimeSkippingService();
  });
  afterEach(async () => s?.close());

  it('answers the next local midnight in PLATFORM_TIMEZONE as the deadline', async () => {
    const user = await inactiveInvitee('deadline.dora');
    const before = new Date();
    const res = await reactivateUser(s.deps, user.userId, STAFF);
    expect(res.user.status).toBe('active');
    expect(res.deadline).toBe(nextLocalMidnight(before, 'Europe/Berlin').toISOString());
  });

  it('no login → inactive again at midnight, not before', async () => {
    const user = await inactiveInvitee('no.login.nils');
    const { deadline } = await reactivateUser(s.deps, user.userId, STAFF);
    const handle = s.env.client.workflow.getHandle(reactivationWorkflowId(user.userId));
    await s.env.sleep(Date.parse(deadline) - Date.now() - 60_000);
    expect((await s.userRow(user.userId)).status).toBe('active');
    expect((await handle.query(reactivationStateQuery)).outcome).toBeNull();

    expect((await handle.result()).outcome).toBe('deactivated');
    const row = await s.userRow(user.userId);
    expect(row.status).toBe('inactive');
    expect(row.deactivation_reason).toBe('reactivation_unused');
  });

  it('reset and login before midnight → still active a day later', async () => {
    const user = await inactiveInvitee('on.time.olga');
    await reactivateUser(s.deps, user.userId, STAFF);
    await resetPassword(user.email, 'olga logs in on time');
    await login(s.deps, user.username, 'olga logs in on time');
    const handle = s.env.client.workflow.getHandle(reactivationWorkflowId(user.userId));
    expect((await handle.result()).outcome).toBe('kept');
    await s.env.sleep(DAY);
    expect((await s.userRow(user.userId)).status).toBe('active');
  });

  it('a reset without a login is not enough: inactive at midnight, and login then says to use forgot password', async () => {
    const user = await inactiveInvitee('reset.only.rita');
    await reactivateUser(s.deps, user.userId, STAFF);
    await resetPassword(user.email, 'rita never logs in');
    const handle = s.env.client.workflow.getHandle(reactivationWorkflowId(user.userId));
    expect((await handle.result()).outcome).toBe('deactivated');
    await expect(login(s.deps, user.username, 'rita never logs in')).rejects.toMatchObject({ type: 'AccountInactive' });
    await expect(login(s.deps, user.username, 'a wrong password here')).rejects.toMatchObject({ type: 'InvalidCredentials' });
    // R9: forgot password gets her back in, no staff involved.
    await resetPassword(user.email, 'rita is back for good');
    expect((await login(s.deps, user.username, 'rita is back for good')).status).toBe('active');
  });

  it('reactivating twice on one day keeps one workflow, one timer and one deadline', async () => {
    const user = await inactiveInvitee('twice.tina');
    const first = await reactivateUser(s.deps, user.userId, STAFF);
    const handle = s.env.client.workflow.getHandle(reactivationWorkflowId(user.userId));
    const runBefore = (await handle.describe()).runId;
    const second = await reactivateUser(s.deps, user.userId, STAFF);
    expect(second.deadline).toBe(first.deadline);
    expect((await handle.describe()).runId).toBe(runBefore);
    const timers = async () => ((await handle.fetchHistory()).events ?? []).filter((e) => e.timerStartedEventAttributes).length;
    await eventually(async () => (await timers()) >= 1, 10_000, 'the timer');
    expect(await timers()).toBe(1);
    expect((await handle.result()).outcome).toBe('deactivated');
  });

  it('two reactivations at the same moment (a double click): one wins, and midnight still deactivates', async () => {
    const user = await inactiveInvitee('double.dirk');
    const [a, b] = await Promise.all([reactivateUser(s.deps, user.userId, { ...STAFF, name: 'staff:a' }), reactivateUser(s.deps, user.userId, { ...STAFF, name: 'staff:b' })]);
    expect(b.deadline).toBe(a.deadline); // both clicks get the same answer
    const handle = s.env.client.workflow.getHandle(reactivationWorkflowId(user.userId));
    expect((await handle.result()).outcome).toBe('deactivated');
    expect((await s.userRow(user.userId)).status).toBe('inactive');
  });

  it.each([
    // The 2027 counterparts of the examples (the test server's clock only moves forward).
    ['the night before clocks go forward', '2027-03-27T22:30:00Z', '2027-03-27T23:00:00Z'],
    ['the 23-hour day itself', '2027-03-28T10:00:00Z', '2027-03-28T22:00:00Z'],
    ['the night before clocks go back', '2027-10-30T21:30:00Z', '2027-10-30T22:00:00Z'],
    ['the 25-hour day itself', '2027-10-31T10:00:00Z', '2027-10-31T23:00:00Z'],
  ])('across daylight saving (%s): reactivated at %s, inactive exactly at %s', async (_what, at, expected) => {
    const user = await inactiveInvitee(`dst.${at.slice(0, 10)}.${at.slice(11, 13)}`);
    await s.env.sleep(Date.parse(at) - (await s.env.currentTimeMs()));
    const clockDeps = { ...s.deps, clock: () => new Date(Date.parse(at)) };
    const { deadline } = await reactivateUser(clockDeps, user.userId, STAFF);
    expect(deadline).toBe(new Date(expected).toISOString());
    const handle = s.env.client.workflow.getHandle(reactivationWorkflowId(user.userId));
    await s.env.sleep(Date.parse(expected) - (await s.env.currentTimeMs()) - 60_000);
    expect((await handle.query(reactivationStateQuery)).outcome).toBeNull();
    expect((await s.userRow(user.userId)).status).toBe('active');
    expect((await handle.result()).outcome).toBe('deactivated');
    expect(await s.env.currentTimeMs()).toBeGreaterThanOrEqual(Date.parse(expected));
  });

  it('deleting the user ends the timer', async () => {
    const user = await inactiveInvitee('deleted.dan');
    await reactivateUser(s.deps, user.userId, STAFF);
    await deleteUser(s.deps, user.userId, STAFF);
    const handle = s.env.client.workflow.getHandle(reactivationWorkflowId(user.userId));
    expect((await handle.result()).outcome).toBe('cancelled');
  });

  it('only an inactive user can be reactivated', async () => {
    const { input } = await s.invite('pending.paula');
    await expect(reactivateUser(s.deps, input.userId, STAFF)).rejects.toMatchObject({ type: 'UserNotInactive' });
    await expect(reactivateUser(s.deps, '00000000-0000-4000-8000-000000000000', STAFF)).rejects.toMatchObject({ type: 'UserNotFound' });
  });
});

/**
 * A worker whose midnight step can be interrupted: `before` runs as the step starts (a slow
 * worker: something happens first), `after` once it has committed but not yet reported.
 */
function midnightHooks() {
  const hooks: { before?: () => Promise<unknown>; after?: () => Promise<unknown> } = {};
  const take = (key: 'before' | 'after') => {
    const hook = hooks[key];
    delete hooks[key];
    return hook?.();
  };
  const wrapActivities = (acts: ReturnType<typeof createActivities>) => ({
    ...acts,
    async endManualReactivation(input: { userId: string; deadline: string }) {
      await take('before');
      const outcome = await acts.endManualReactivation(input);
      await take('after');
      return outcome;
    },
  });
  return { hooks, wrapActivities };
}

describe('a reactivation that arrives while the midnight step runs', () => {
  let late: TimeSkippingService;
  const { hooks, wrapActivities } = midnightHooks();
  beforeAll(async () => {
    late = await startTimeSkippingService({ wrapActivities });
  });
  afterAll(async () => late?.close());

  it('gets its own timer: the user is inactive again after the next midnight', async () => {
    const { input } = await late.invite('late.lars');
    await revokeInvitationById(late.deps, input.invitationId, STAFF);
    const first = await reactivateUser(late.deps, input.userId, STAFF);
    let second: { deadline: string } | undefined;
    // Staff reactivate again right after midnight, before the step reports.
    hooks.after = async () => {
      const justAfterMidnight = { ...late.deps, clock: () => new Date(Date.parse(first.deadline) + 60_000) };
      second = await reactivateUser(justAfterMidnight, input.userId, STAFF);
    };
    const handle = late.env.client.workflow.getHandle(reactivationWorkflowId(input.userId));
    const final = await handle.result();
    expect(second).toBeDefined();
    expect(Date.parse(second!.deadline)).toBe(Date.parse(first.deadline) + DAY);
    expect(final.current.deadline).toBe(second!.deadline);
    expect(final.outcome).toBe('deactivated');
    expect((await late.userRow(input.userId)).status).toBe('inactive');
    expect(await late.env.currentTimeMs()).toBeGreaterThanOrEqual(Date.parse(second!.deadline));
  });
});

describe('a login after midnight, before the midnight step has run', () => {
  let slow: TimeSkippingService;
  const { hooks, wrapActivities } = midnightHooks();
  beforeAll(async () => {
    slow = await startTimeSkippingService({ wrapActivities });
  });
  afterAll(async () => slow?.close());

  it('does not rescue the lapsed reactivation', async () => {
    const { input } = await slow.invite('slow.sven');
    await revokeInvitationById(slow.deps, input.invitationId, STAFF);
    await reactivateUser(slow.deps, input.userId, STAFF);
    const seen = new Set(slow.mail.messages().map((m) => m.id));
    await requestPasswordReset(slow.deps, input.email);
    const mail = await slow.mail.waitFor((m) => !seen.has(m.id) && m.to.includes(input.email), 15_000);
    await completePasswordReset(slow.deps, linkFrom(mail.text, '/password/reset').token, 'sven resets but is late');
    let loginAfterMidnight: unknown;
    hooks.before = async () => {
      // The reactivation's deadline (real clock) is hours away; make it due, as midnight would.
      await slow.db.updateTable('users').set({ reactivation_deadline: new Date(Date.now() - 1000) }).where('id', '=', input.userId).execute();
      expect((await slow.userRow(input.userId)).status).toBe('active'); // the step has not run yet
      loginAfterMidnight = await login(slow.deps, input.username, 'sven resets but is late').catch((e: unknown) => e);
    };
    const handle = slow.env.client.workflow.getHandle(reactivationWorkflowId(input.userId));
    const final = await handle.result();
    expect(loginAfterMidnight).toMatchObject({ type: 'AccountInactive' });
    expect(final.outcome).toBe('deactivated');
    expect((await slow.userRow(input.userId)).status).toBe('inactive');
  });
});

describe('a user refused after a missed midnight, before the midnight step has run (issue 14.4)', () => {
  let window_: TimeSkippingService;
  const { hooks, wrapActivities } = midnightHooks();
  beforeAll(async () => {
    window_ = await startTimeSkippingService({ wrapActivities });
  });
  afterAll(async () => window_?.close());

  it('does what the refusal says, "forgot password", and can log in; the midnight step then leaves her active', async () => {
    const { input } = await window_.invite('missed.mia');
    await revokeInvitationById(window_.deps, input.invitationId, STAFF);
    await reactivateUser(window_.deps, input.userId, STAFF);
    // She sets a password before midnight but does not log in (R10 wants the login too).
    const seenFirst = new Set(window_.mail.messages().map((m) => m.id));
    await requestPasswordReset(window_.deps, input.email);
    const first = await window_.mail.waitFor((m) => !seenFirst.has(m.id) && m.to.includes(input.email) && m.text.includes('/password/reset'), 15_000);
    await completePasswordReset(window_.deps, linkFrom(first.text, '/password/reset').token, 'mia resets but is late');
    let refused: unknown;
    let loggedIn: unknown;
    hooks.before = async () => {
      // Midnight has passed (the deadline is due) but the step has not run: still `active`.
      await window_.db.updateTable('users').set({ reactivation_deadline: new Date(Date.now() - 1000) }).where('id', '=', input.userId).execute();
      refused = await login(window_.deps, input.username, 'mia resets but is late').catch((e: unknown) => e);
      const seen = new Set(window_.mail.messages().map((m) => m.id));
      await requestPasswordReset(window_.deps, input.email);
      const mail = await window_.mail.waitFor((m) => !seen.has(m.id) && m.to.includes(input.email) && m.text.includes('/password/reset'), 15_000);
      await completePasswordReset(window_.deps, linkFrom(mail.text, '/password/reset').token, 'mia is back after midnight');
      loggedIn = await login(window_.deps, input.username, 'mia is back after midnight').catch((e: unknown) => e);
    };
    const handle = window_.env.client.workflow.getHandle(reactivationWorkflowId(input.userId));
    const final = await handle.result();
    expect(refused).toMatchObject({ type: 'AccountInactive' });
    expect(loggedIn).toMatchObject({ status: 'active' });
    expect(final.outcome).not.toBe('deactivated');
    expect((await window_.userRow(input.userId)).status).toBe('active');
    // And she stays in: no later timer or step takes it back.
    await window_.env.sleep(DAY);
    expect((await login(window_.deps, input.username, 'mia is back after midnight')).status).toBe('active');
  });
});

describe('a reset for a pending invitee', () => {
  beforeAll(async () => {
    s = await startTimeSkippingService();
  });
  afterAll(async () => s?.close());

  it('ends the invitation workflow, and no later timer touches the user', async () => {
    const { input, handle } = await s.invite('reset.pending.pia');
    await s.env.sleep(3 * DAY);
    await resetPassword(input.email, 'pia skips the invitation');
    expect((await handle.result()).outcome).toBe('accepted');
    await s.env.sleep(40 * DAY);
    const row = await s.userRow(input.userId);
    expect(row.status).toBe('active');
    expect(row.deactivated_at).toBeNull();
  });

  it('a deleted user whose name is reused, and whose workflow never heard of the deletion: the old timer leaves the new user alone', async () => {
    const first = await s.invite('reused.name');
    await s.env.sleep(DAY);
    // Delete with the signal lost: the first invitation workflow keeps its 28-day timer.
    const offline = { ...s.deps, temporal: { workflow: { getHandle: () => ({ signal: () => Promise.reject(new Error('unavailable')) }) } } } as unknown as AppDeps;
    await deleteUser(offline, first.input.userId, STAFF);
    // The same username and address are free at once (R11); the new user is a new id.
    const second = await s.invite('reused.name');
    await s.env.sleep(28 * DAY - DAY + 60_000); // just past the first invitation's deadline
    // Not first.handle.result(): waiting on a result lets the server skip time, and it could
    // jump to the second invitation's timer too. The first one's timer has fired by now.
    await eventually(async () => (await first.handle.describe()).status.name === 'COMPLETED', 15_000, 'the first workflow');
    expect((await first.handle.query(stateQuery)).outcome).toBe('revoked'); // the record said so
    expect((await s.userRow(second.input.userId)).status).toBe('invited');
    expect((await second.handle.result()).outcome).toBe('expired');
    expect((await s.userRow(second.input.userId)).status).toBe('inactive');
  });
});
