/**
 * The invariants, judged from records alone (what the load generator was answered, what the
 * database, Temporal, the SMTP server and the webhook receiver hold), so that the judging is
 * testable without any fault (test/faults-checks.test.ts feeds it made-up records).
 */
export interface Answer {
  username: string;
  /** The HTTP status; 0 when no answer came (connection refused or reset, timed out). */
  status: number;
  /** The problem type's last path segment, for a problem answer. */
  problem?: string;
  at: number;
}

export interface UserRecord {
  username: string;
  userId: string;
  /** Live users with this username (R11: at most one). */
  users: number;
  invitations: number;
  workflow: boolean;
  status: string;
  expiresAt: number | undefined;
  deactivatedAt: number | undefined;
  /** Invitation mails the SMTP server stored for the address. */
  mailsSeen: number;
  /** Invitation mails in the email log, and how many of them say sent. */
  mailsLogged: number;
  mailsLoggedSent: number;
  /** Whether every mailed link was usable when checked (inspect answered 200). */
  linksOpen: boolean;
  /** When it did not: what the last try got and when, against the deadline. */
  linkDetail?: string | undefined;
  /** Deliveries the receiver got for this user: webhook-id, event type and sequence, in arrival order. */
  hooks: { id: string; type: string; sequence: number }[];
  /** Audit rows of the expiry (a re-run must not record it twice). */
  expiryAudits: number;
}

export interface Verdict {
  sent: number;
  accepted: number;
  refused: number;
  unanswered: number;
  lost: number;
  doubled: number;
  stranded: number;
  maxLagSeconds: number;
  problems: string[];
}

/** Answers that say the outcome is not known: the client must look before it retries. */
const UNKNOWN_OUTCOME = new Set(['dependency-unavailable']);

export function judge(answers: Answer[], records: Map<string, UserRecord>, options: { now: number; lagLimitSeconds: number }): Verdict {
  const verdict: Verdict = { sent: answers.length, accepted: 0, refused: 0, unanswered: 0, lost: 0, doubled: 0, stranded: 0, maxLagSeconds: 0, problems: [] };
  const flag = (kind: 'lost' | 'doubled' | 'stranded', what: string) => {
    verdict[kind]++;
    verdict.problems.push(`${kind}: ${what}`);
  };
  for (const answer of answers) {
    const record = records.get(answer.username);
    if (answer.status === 201) {
      verdict.accepted++;
      if (!record || record.users === 0) flag('lost', `${answer.username}: 201 but no user`);
      else if (!record.workflow) flag('lost', `${answer.username}: 201 but no workflow`);
      else if (record.mailsSeen === 0) flag('lost', `${answer.username}: 201 but no invitation mail reached the SMTP server`);
      else if (!record.linksOpen) flag('lost', `${answer.username}: the mailed link does not open${record.linkDetail ? ` (${record.linkDetail})` : ''}`);
    } else if (answer.status === 0 || UNKNOWN_OUTCOME.has(answer.problem ?? '')) {
      verdict.unanswered++;
      // The outcome was not known to the client: either nothing or a whole invitation.
      if (record && record.users > 0 && (!record.workflow || record.mailsSeen === 0)) flag('lost', `${answer.username}: half made after "${answer.problem ?? 'no answer'}"`);
    } else {
      verdict.refused++;
      if (record && record.users > 0) flag('stranded', `${answer.username}: answered ${answer.status} ${answer.problem ?? ''} but a user exists`);
    }
    if (!record || record.users === 0) continue;
    if (record.users > 1 || record.invitations > 1) flag('doubled', `${answer.username}: ${record.users} users, ${record.invitations} invitations`);
    if (record.mailsSeen > 1 || record.mailsLogged > 1) flag('doubled', `${answer.username}: ${record.mailsSeen} mails at the SMTP server, ${record.mailsLogged} in the log`);
    if (record.mailsSeen !== record.mailsLoggedSent) flag('doubled', `${answer.username}: the SMTP server saw ${record.mailsSeen} mails, the log says ${record.mailsLoggedSent} sent`);
    if (record.expiryAudits > 1) flag('doubled', `${answer.username}: the expiry recorded ${record.expiryAudits} times`);
    // Every deadline is kept: inactive, within the limit after it passed.
    if (record.expiresAt !== undefined && record.expiresAt < options.now - options.lagLimitSeconds * 1000) {
      if (record.status === 'invited') flag('stranded', `${answer.username}: still invited ${Math.round((options.now - record.expiresAt) / 1000)} s after its deadline`);
    }
    if (record.expiresAt !== undefined && record.deactivatedAt !== undefined) {
      verdict.maxLagSeconds = Math.max(verdict.maxLagSeconds, (record.deactivatedAt - record.expiresAt) / 1000);
    }
    // Webhooks: at least once, one id per event, in order per user, none missing.
    const ids = new Map<number, string>();
    const firstSeen: number[] = [];
    for (const hook of record.hooks) {
      const known = ids.get(hook.sequence);
      if (known === undefined) {
        ids.set(hook.sequence, hook.id);
        firstSeen.push(hook.sequence);
      } else if (known !== hook.id) flag('doubled', `${answer.username}: event ${hook.sequence} delivered under two ids`);
    }
    if (firstSeen.some((sequence, i) => i > 0 && sequence < firstSeen[i - 1]!)) flag('doubled', `${answer.username}: events out of order ${firstSeen.join(',')}`);
    const types = new Set(record.hooks.map((h) => h.type));
    const expected = ['user.invited', ...(record.status === 'inactive' && record.deactivatedAt !== undefined ? ['invitation.expired', 'user.deactivated'] : [])];
    for (const type of expected) if (!types.has(type)) flag('lost', `${answer.username}: no ${type} webhook`);
  }
  return verdict;
}
