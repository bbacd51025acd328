import { describe, expect, it } from 'vitest';
import { judge, type Answer, type UserRecord } from '../faults/checks.js';

/**
 * The fault suite's judge on made-up records: each invariant it guards is broken once here,
 * so a judge that stopped looking would fail this file (the suite itself only sees real runs,
 * where nothing should break).
 */
const now = Date.parse('2026-12-05T12:00:00Z');
const whole = (username: string, over: Partial<UserRecord> = {}): UserRecord => ({
  username,
  userId: `id-${username}`,
  users: 1,
  invitations: 1,
  workflow: true,
  status: 'invited',
  expiresAt: now + 60_000,
  deactivatedAt: undefined,
  mailsSeen: 1,
  mailsLogged: 1,
  mailsLoggedSent: 1,
  linksOpen: true,
  hooks: [{ id: 'msg_1', type: 'user.invited', sequence: 1 }],
  expiryAudits: 0,
  ...over,
});
const created = (username: string): Answer => ({ username, status: 201, at: now - 1000 });
const verdictOf = (answers: Answer[], records: UserRecord[]) => judge(answers, new Map(records.map((r) => [r.username, r])), { now, lagLimitSeconds: 10 });

describe('the fault suite judge', () => {
  it('passes a whole invitation, a clean refusal and an unanswered request that made nothing', () => {
    const verdict = verdictOf(
      [created('a'), { username: 'b', status: 503, problem: 'overloaded', at: now }, { username: 'c', status: 0, at: now }],
      [whole('a')],
    );
    expect(verdict).toMatchObject({ sent: 3, accepted: 1, refused: 1, unanswered: 1, lost: 0, doubled: 0, stranded: 0, problems: [] });
  });

  it.each([
    ['lost', 'no user', [] as UserRecord[]],
    ['lost', 'no workflow', [whole('a', { workflow: false })]],
    ['lost', 'no mail', [whole('a', { mailsSeen: 0, mailsLoggedSent: 0 })]],
    ['lost', 'a link that does not open', [whole('a', { linksOpen: false })]],
    ['doubled', 'two mails', [whole('a', { mailsSeen: 2, mailsLogged: 1 })]],
    ['doubled', 'an expiry recorded twice', [whole('a', { expiryAudits: 2 })]],
    ['doubled', 'one event under two webhook ids', [whole('a', { hooks: [{ id: 'msg_1', type: 'user.invited', sequence: 1 }, { id: 'msg_2', type: 'user.invited', sequence: 1 }] })]],
    ['doubled', 'events out of order', [whole('a', { status: 'inactive', expiresAt: now - 20_000, deactivatedAt: now - 19_000, hooks: [{ id: 'x2', type: 'invitation.expired', sequence: 2 }, { id: 'x1', type: 'user.invited', sequence: 1 }, { id: 'x3', type: 'user.deactivated', sequence: 3 }] })]],
    ['lost', 'a missing expiry event', [whole('a', { status: 'inactive', expiresAt: now - 20_000, deactivatedAt: now - 19_000 })]],
    ['stranded', 'still invited after its deadline', [whole('a', { expiresAt: now - 60_000 })]],
  ] as const)('flags %s: %s', (kind, _what, records) => {
    const verdict = verdictOf([created('a')], [...records]);
    expect(verdict[kind]).toBeGreaterThan(0);
    expect(verdict.problems.length).toBeGreaterThan(0);
  });

  it('flags a refusal that created a user anyway, and reports the worst expiry lag', () => {
    const refused = verdictOf([{ username: 'a', status: 409, problem: 'username-taken', at: now }], [whole('a')]);
    expect(refused.stranded).toBe(1);
    const late = verdictOf([created('a')], [whole('a', { status: 'inactive', expiresAt: now - 30_000, deactivatedAt: now - 17_500, hooks: [{ id: 'h1', type: 'user.invited', sequence: 1 }, { id: 'h2', type: 'invitation.expired', sequence: 2 }, { id: 'h3', type: 'user.deactivated', sequence: 3 }] })]);
    expect(late.maxLagSeconds).toBeCloseTo(12.5);
    expect(late.problems).toEqual([]);
  });
});
