import { randomUUID } from 'node:crypto';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase, type DatabaseHandle } from '../src/db/database.js';
import { registerInvitedUser, type RegistrationInput } from '../src/invitations/registration.js';
import { cloneDatabase } from './support/harness.js';

/**
 * The API registers the invited user right after starting its workflow, and the workflow's
 * first step registers the same rows when it finds none (issue 14.1). Both must converge on
 * one user whichever commits first, also when both insert at the same instant.
 */
let database: Awaited<ReturnType<typeof cloneDatabase>>;
let workflowSide: DatabaseHandle;
let barrier: postgres.Sql;
beforeAll(async () => {
  database = await cloneDatabase();
  workflowSide = await openDatabase({ url: database.url, dataDir: '.data' });
  barrier = postgres(database.url, { max: 1, onnotice: () => {} });
});
afterAll(async () => {
  await barrier?.end();
  await workflowSide?.close();
  await database?.drop();
});

function input(n: number): RegistrationInput {
  return {
    userId: randomUUID(),
    invitationId: randomUUID(),
    username: `racer-${n}`,
    email: `racer-${n}@example.com`,
    userType: 'member',
    isStaff: false,
    permissions: [],
    locale: 'de',
    invitedBy: 'race-test',
    ttlMs: 86_400_000,
    expiresAt: new Date(Date.now() + 86_400_000).toISOString(),
  };
}

describe('the API and the workflow register the same invitee at the same instant', () => {
  it('both find one user and one invitation; neither sees "name taken"', async () => {
    // Each pair queues behind a lock on the table and is let go at once, so both inserts
    // start together: without serialisation about one pair in eight failed on the name index.
    const pairs = 60;
    const failures: string[] = [];
    for (let i = 0; i < pairs; i++) {
      const registration = input(i);
      const racing = await barrier.begin(async (tx) => {
        await tx`lock table users in exclusive mode`;
        const api = registerInvitedUser(database.handle.db, registration);
        const workflow = registerInvitedUser(workflowSide.db, registration, { probablyExists: true });
        await new Promise((resolve) => setTimeout(resolve, 15));
        return [api, workflow] as const;
      });
      const outcomes = await Promise.allSettled(racing);
      for (const outcome of outcomes) if (outcome.status === 'rejected') failures.push(`${registration.username}: ${(outcome.reason as Error).message}`);
      const settled = outcomes.filter((o) => o.status === 'fulfilled').map((o) => (o as PromiseFulfilledResult<Awaited<(typeof racing)[0]>>).value);
      if (settled.length === 2) {
        expect(settled.filter((r) => r.created)).toHaveLength(1);
        expect(new Set(settled.map((r) => r.user.id))).toEqual(new Set([registration.userId]));
      }
    }
    expect(failures).toEqual([]);
    const [counts] = await barrier<{ users: number; invitations: number }[]>`
      select (select count(*)::int from users where username like 'racer-%') as users,
             (select count(*)::int from invitations) as invitations`;
    expect(counts).toEqual({ users: pairs, invitations: pairs });
  });

  it('a name taken by a different user still fails both the same way', async () => {
    const first = input(1000);
    await registerInvitedUser(database.handle.db, first);
    const other = { ...input(1001), username: first.username };
    await expect(registerInvitedUser(database.handle.db, other)).rejects.toMatchObject({ type: 'UsernameTaken' });
    await expect(registerInvitedUser(workflowSide.db, other, { probablyExists: true })).rejects.toMatchObject({ type: 'UsernameTaken' });
  });
});
