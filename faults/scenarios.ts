import { randomBytes } from 'node:crypto';
import { invitationWorkflowId } from '../src/workflows/invitation.messages.js';
import { judge, type Answer, type UserRecord, type Verdict } from './checks.js';
import type { Topology } from './topology.js';

/**
 * One scenario: invitations at a steady rate while a fault is made and repaired, then the
 * checks. `disrupt` runs beside the load from its start and returns when the fault is over.
 */
export interface Scenario {
  name: string;
  /** What the fault is, for the table's reader. */
  fault: string;
  disrupt(t: Topology, timing: Timing): Promise<void>;
}

export interface Timing {
  /** How long the fault lasts (the suite's `--outage`; the issue's 30 s and one minute by default). */
  outageMs: number;
  /** Load seconds before the fault starts. */
  leadMs: number;
}

export interface Outcome extends Verdict {
  scenario: string;
  /** Seconds from the end of the fault until the next 201. */
  recoverySeconds: number | undefined;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function restart(t: Topology, which: 'api' | 'worker', at: number) {
  const list = which === 'api' ? t.apis : t.workers;
  const victim = list[at]!;
  victim.kill('SIGKILL');
  await victim.exited;
  list.splice(at, 1);
  await (which === 'api' ? t.startApi() : t.startWorker());
}

function smtpFault(name: string, mode: Topology['smtp'], fault: string): Scenario {
  return {
    name,
    fault,
    async disrupt(t, { leadMs, outageMs }) {
      await sleep(leadMs);
      t.smtp = mode;
      await sleep(2 * outageMs);
      t.smtp = 'ok';
    },
  };
}

export const scenarios: Scenario[] = [
  {
    name: 'worker-kill',
    fault: 'SIGKILL the worker, start a new one',
    async disrupt(t, { leadMs }) {
      await sleep(leadMs);
      await restart(t, 'worker', 0);
    },
  },
  {
    name: 'api-kill',
    fault: 'SIGKILL the API, start a new one',
    async disrupt(t, { leadMs }) {
      await sleep(leadMs);
      await restart(t, 'api', 0);
    },
  },
  {
    name: 'temporal-kill',
    fault: 'SIGKILL the Temporal server (file-backed), start it again',
    async disrupt(t, { leadMs }) {
      await sleep(leadMs);
      t.killTemporal();
      await sleep(2000);
      await t.startTemporal();
    },
  },
  {
    name: 'postgres-cut',
    fault: 'every Postgres connection cut, new ones refused, for the outage',
    async disrupt(t, { leadMs, outageMs }) {
      await sleep(leadMs);
      t.cutDatabase();
      await sleep(outageMs);
      t.restoreDatabase();
    },
  },
  smtpFault('smtp-451', '451', 'the SMTP server answers 451 for twice the outage (the issue: a minute)'),
  smtpFault('smtp-hang', 'hang', 'the SMTP server takes connections and never answers, for twice the outage (a minute)'),
  {
    name: 'two-of-each',
    fault: 'two APIs and two workers; one of each SIGKILLed',
    async disrupt(t, { leadMs }) {
      await sleep(leadMs);
      t.apis[0]!.kill('SIGKILL');
      t.workers[0]!.kill('SIGKILL');
      await Promise.all([t.apis[0]!.exited, t.workers[0]!.exited]);
      t.apis.splice(0, 1);
      t.workers.splice(0, 1);
    },
  },
  {
    name: 'wrong-key',
    fault: 'a worker started with another EMAIL_ENCRYPTION_KEY (it must refuse), then the right one',
    async disrupt(t, { leadMs }) {
      await sleep(leadMs);
      const wrong = await t.startWorker({ EMAIL_ENCRYPTION_KEY: randomBytes(32).toString('hex') });
      const code = await Promise.race([wrong.exited, sleep(60_000).then(() => 'still running' as const)]);
      if (code === 'still running' || code === 0) {
        wrong.kill('SIGKILL');
        throw new Error(`a worker with a wrong EMAIL_ENCRYPTION_KEY did not refuse to start (${code}):\n${wrong.output()}`);
      }
      await t.startWorker();
    },
  },
];

/** Runs one scenario on a running topology and judges it. */
export async function runScenario(t: Topology, scenario: Scenario, options: { rate: number; loadMs: number; timing: Timing; ttlMs: number; log: (line: string) => void }): Promise<Outcome> {
  if (scenario.name === 'two-of-each') {
    while (t.apis.length < 2) await t.startApi();
    while (t.workers.length < 2) await t.startWorker();
  }
  const prefix = `${scenario.name.replace(/[^a-z]/g, '')}${randomBytes(2).toString('hex')}`;
  const answers: Answer[] = [];
  let faultOver = Number.POSITIVE_INFINITY;
  const disruption = scenario.disrupt(t, options.timing).then(() => (faultOver = Date.now()));
  const started = Date.now();
  const requests: Promise<void>[] = [];
  const total = Math.round((options.rate * options.loadMs) / 1000);
  for (let i = 0; i < total; i++) {
    const due = started + (i * 1000) / options.rate;
    if (due > Date.now()) await sleep(due - Date.now());
    const username = `${prefix}.${i}`;
    const api = t.apis[i % Math.max(1, t.apis.length)];
    requests.push(invite(api?.url, t.adminKey, username).then((answer) => void answers.push(answer)));
  }
  await Promise.all(requests);
  await disruption;
  const others = new Map<string, number>();
  for (const a of answers.filter((a) => a.status !== 201)) {
    const answer = `${a.status}${a.problem ? ` ${a.problem}` : ''}`;
    others.set(answer, (others.get(answer) ?? 0) + 1);
  }
  const otherAnswers = [...others].map(([answer, n]) => `${n}× ${answer}`).join(', ');
  options.log(`${scenario.name}: ${answers.filter((a) => a.status === 201).length}/${answers.length} invited${otherAnswers ? ` (others: ${otherAnswers})` : ''}; settling`);
  const recovery = answers.filter((a) => a.status === 201 && a.at >= faultOver).map((a) => a.at).sort((a, b) => a - b)[0];

  // Settle: every deadline passes (plus the lag allowed), the mails and webhooks have time to go out.
  const lastDeadline = Math.max(...answers.map((a) => a.at)) + options.ttlMs;
  const lagLimitSeconds = 10;
  await waitUntil(lastDeadline + lagLimitSeconds * 1000);
  // A link mailed late is still being tried: judge what the try found, not that it was unfinished.
  await Promise.race([Promise.all([...t.linkChecks]), sleep(40_000)]);
  const records = await collect(t, answers.map((a) => a.username));
  const verdict = judge(answers, records, { now: Date.now(), lagLimitSeconds });
  // No process may die of the fault itself: the scenario kills what it means to kill.
  verdict.problems.push(...t.crashes.splice(0).map((crash) => `crashed: ${crash}`));
  return { scenario: scenario.name, ...verdict, recoverySeconds: recovery === undefined ? undefined : (recovery - faultOver) / 1000 };
}

async function waitUntil(at: number) {
  while (Date.now() < at) await sleep(Math.min(1000, at - Date.now()));
}

async function invite(base: string | undefined, key: string, username: string): Promise<Answer> {
  const at = Date.now();
  if (!base) return { username, status: 0, at };
  try {
    const res = await fetch(`${base}/api/v1/invitations`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', 'x-actor': 'staff:faults' },
      body: JSON.stringify({ username, email: `${username}@example.com`, userType: 'member', locale: 'en' }),
      signal: AbortSignal.timeout(30_000),
    });
    const body = (await res.json().catch(() => ({}))) as { type?: string };
    const problem = body.type?.split('/').pop();
    return { username, status: res.status, ...(problem ? { problem } : {}), at: Date.now() };
  } catch {
    return { username, status: 0, at: Date.now() };
  }
}

/** What the database, Temporal, the SMTP server and the webhook receiver hold about each username. */
async function collect(t: Topology, usernames: string[]): Promise<Map<string, UserRecord>> {
  const records = new Map<string, UserRecord>();
  const rows = await t.sql<{ id: string; username: string; status: string; deactivated_at: Date | null }[]>`
    select id, username, status, deactivated_at from users where deleted_at is null and username in ${t.sql(usernames)}`;
  const client = await t.temporal();
  try {
    for (const username of usernames) {
      const users = rows.filter((r) => r.username === username);
      const user = users[0];
      if (!user) continue;
      const [invitations] = await t.sql<{ n: number; expires_at: Date | null }[]>`
        select count(*)::int as n, max(expires_at) as expires_at from invitations where user_id = ${user.id}`;
      const logged = await t.sql<{ status: string }[]>`select status from emails where user_id = ${user.id} and type = 'user_invitation'`;
      const [audits] = await t.sql<{ n: number }[]>`select count(*)::int as n from audit_events where user_id = ${user.id} and action = 'invitation.expired'`;
      const workflow = await client.workflow.getHandle(invitationWorkflowId(user.id)).describe().then(() => true, () => false);
      const mailsSeen = t.mailsTo.get(`${username}@example.com`) ?? 0;
      const link = t.links.get(`${username}@example.com`);
      const linksOpen = mailsSeen > 0 && link?.ok === true;
      const expiresAt = invitations!.expires_at?.getTime();
      const relative = (at: number) => (expiresAt === undefined ? '' : ` ${Math.abs((expiresAt - at) / 1000).toFixed(1)} s ${at <= expiresAt ? 'before' : 'after'} its deadline`);
      const linkDetail =
        link && !link.ok
          ? `the last try got ${link.status === 0 ? 'no answer' : link.status === -1 ? 'nothing yet' : `${link.status}${link.problem ? ` ${link.problem}` : ''}`}; mailed${relative(link.mailedAt)}, last tried${relative(link.checkedAt)}`
          : mailsSeen > 0 && !link
            ? 'no check of it was recorded'
            : undefined;
      records.set(username, {
        username,
        userId: user.id,
        users: users.length,
        invitations: invitations!.n,
        workflow,
        status: user.status,
        expiresAt: invitations!.expires_at?.getTime(),
        deactivatedAt: user.deactivated_at?.getTime(),
        mailsSeen,
        mailsLogged: logged.length,
        mailsLoggedSent: logged.filter((l) => l.status === 'sent').length,
        linksOpen,
        linkDetail,
        hooks: t.hooks.filter((h) => h.userId === user.id).map(({ id, type, sequence }) => ({ id, type, sequence })),
        expiryAudits: audits!.n,
      });
    }
  } finally {
    await client.connection.close();
  }
  return records;
}
