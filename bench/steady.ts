/**
 * Invitations at a fixed rate, open-loop: request i is sent at t0 + i/rate whatever happened
 * to the ones before (issue 8, P2), the way a platform's traffic arrives. Latency counts from
 * the moment a request was due, so a load generator that fell behind cannot hide a slow
 * service (no coordinated omission). Afterwards every request's effect is checked:
 * - a 201 must become a user with its invitation workflow and exactly one invitation mail;
 * - any other answer must have created nothing (no user row, no workflow), and be quick.
 */
import { performance } from 'node:perf_hooks';
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import type { Database } from '../src/db/database.js';
import type { CaughtMail } from '../src/dev/mail-catcher.js';
import { invitationWorkflowId } from '../src/workflows/invitation.messages.js';
import { latencyStats, type LatencyStats } from './lib.js';

export interface OpenLoopResult {
  ratePerSecond: number;
  seconds: number;
  sent: number;
  statuses: Record<string, number>;
  latencyMs: LatencyStats | null;
  /** Latency of the answers that were not 201 (how fast a refusal came). */
  refusalLatencyMs: LatencyStats | null;
  /** How late the generator sent, at worst: above a few ms the open loop itself was starved. */
  maxSendLagMs: number;
  /** 201s whose user, workflow and single mail were all found. */
  createdComplete: number;
  /** 201s with something missing or doubled. */
  createdIncomplete: string[];
  /** Non-201 answers whose username nonetheless has a user row or a workflow. */
  refusedButMade: string[];
  /** Requests that never got an answer (network errors, timeouts). */
  unanswered: number;
}

export async function openLoop(options: {
  label: string;
  ratePerSecond: number;
  seconds: number;
  baseUrl: string;
  adminKey: string;
  db: Database;
  temporal: Client;
  waitForMail: (to: string, timeoutMs: number) => Promise<CaughtMail | undefined>;
  countMails: (to: string) => number;
  mailTimeoutMs: number;
  tag: string;
}): Promise<OpenLoopResult> {
  const total = Math.max(1, Math.round(options.ratePerSecond * options.seconds));
  const interval = 1000 / options.ratePerSecond;
  const username = (i: number) => `s${options.tag}-${options.label}-${i}`;
  const email = (i: number) => `steady-${options.tag}-${options.label}-${i}@example.com`;
  const latencies: number[] = [];
  const refusalLatencies: number[] = [];
  const statuses: Record<string, number> = {};
  const created = new Map<number, { userId: string; mail: Promise<CaughtMail | undefined> }>();
  const refused: number[] = [];
  let unanswered = 0;
  let maxSendLagMs = 0;

  const send = async (i: number, due: number) => {
    const mail = options.waitForMail(email(i), options.mailTimeoutMs);
    try {
      const res = await fetch(`${options.baseUrl}/api/v1/invitations`, {
        method: 'POST',
        headers: { authorization: `Bearer ${options.adminKey}`, 'content-type': 'application/json' },
        body: JSON.stringify({ username: username(i), email: email(i), userType: 'member', locale: 'en' }),
        signal: AbortSignal.timeout(30_000),
      });
      const text = await res.text();
      const ms = performance.now() - due;
      latencies.push(ms);
      const key = res.status === 503 ? `503${res.headers.get('retry-after') ? ' with Retry-After' : ' WITHOUT Retry-After'}` : String(res.status);
      statuses[key] = (statuses[key] ?? 0) + 1;
      if (res.status === 201) created.set(i, { userId: (JSON.parse(text) as { user: { id: string } }).user.id, mail });
      else {
        refusalLatencies.push(ms);
        refused.push(i);
      }
    } catch {
      unanswered++;
      refused.push(i);
    }
  };

  const t0 = performance.now();
  const requests: Array<Promise<void>> = [];
  for (let i = 0; i < total; i++) {
    const due = t0 + i * interval;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    maxSendLagMs = Math.max(maxSendLagMs, performance.now() - due);
    requests.push(send(i, due));
  }
  await Promise.all(requests);

  // Nothing half made: every 201 is whole, every refusal left nothing behind.
  const createdIncomplete: string[] = [];
  let createdComplete = 0;
  for (const [i, { userId, mail }] of created) {
    const caught = await mail;
    const user = await options.db.selectFrom('users').select('id').where('id', '=', userId).executeTakeFirst();
    const workflow = await exists(options.temporal, invitationWorkflowId(userId));
    const mails = options.countMails(email(i));
    if (caught && user && workflow && mails === 1) createdComplete++;
    else createdIncomplete.push(`${username(i)}: user ${user ? 'yes' : 'no'}, workflow ${workflow ? 'yes' : 'no'}, mails ${mails}`);
  }
  const refusedButMade: string[] = [];
  for (const i of refused) {
    const user = await options.db.selectFrom('users').select('id').where('username', '=', username(i)).executeTakeFirst();
    // A start whose insert failed would have its workflow register the user by now.
    if (user) refusedButMade.push(username(i));
  }
  return {
    ratePerSecond: options.ratePerSecond,
    seconds: options.seconds,
    sent: total,
    statuses,
    latencyMs: latencyStats(latencies),
    refusalLatencyMs: latencyStats(refusalLatencies),
    maxSendLagMs: Math.round(maxSendLagMs * 10) / 10,
    createdComplete,
    createdIncomplete: createdIncomplete.slice(0, 10),
    refusedButMade: refusedButMade.slice(0, 10),
    unanswered,
  };
}

async function exists(client: Client, workflowId: string): Promise<boolean> {
  try {
    await client.workflow.getHandle(workflowId).describe();
    return true;
  } catch (error) {
    if (error instanceof WorkflowNotFoundError) return false;
    throw error;
  }
}
