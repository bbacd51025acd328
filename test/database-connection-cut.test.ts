import { spawn } from 'node:child_process';
import { expect, inject, it } from 'vitest';

/**
 * A database connection cut mid-transaction must cost that transaction, never the process or
 * the pool. Found by the fault suite (docs/faults.md): postgres.js 3.4.9 wrote a transaction's
 * ROLLBACK into the socket the cut had closed, from a setImmediate, and the TypeError killed the
 * API and the worker (porsager/postgres#1208, open upstream); Kysely's rollback then hid the
 * connection error behind "PRIVATE_MARK_FOR_DISCARD_METHOD is not a function" (a 500), and a
 * reserved connection released after its socket closed went back to the pool's open queue,
 * where every later query failed; and a transaction waiting for a connection when the cut came
 * could wait for ever. patches/postgres+3.4.9.patch (applied by `npm ci`'s
 * postinstall) and the dialect in src/db/database.ts fix them; this runs the service's own pool
 * in a child process (an uncaught exception must be able to kill it) through a TCP proxy that
 * cuts every connection.
 */
it('a connection cut mid-transaction fails that transaction with CONNECTION_CLOSED; the process lives and the pool recovers', async () => {
  const url = inject('pgAdminUrl');
  const child = spawn(process.execPath, ['--import', 'tsx', 'test/fixtures/connection-cut.ts', url], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  // Every step of the child is bounded (15 s per transaction, 20 s per recovery, 10 s to close):
  // if it still runs after that, its progress on stderr says where it stopped.
  const code = await Promise.race([
    new Promise<number | null>((resolve) => child.on('exit', resolve)),
    new Promise<string>((resolve) => setTimeout(() => resolve('still running after 180 s'), 180_000)),
  ]);
  child.kill('SIGKILL');
  expect(code, `${stderr}\n${stdout}`).toBe(0);
  const { outcomes, unhandled } = JSON.parse(stdout.trim().split('\n').at(-1)!) as { outcomes: Record<string, string>; unhandled: string[] };

  // The transactions the cut hit end with the connection's error (the API maps it to a 503), none hangs.
  expect(outcomes['between statements']).toMatch(/^CONNECTION_CLOSED( after \d+ s)?$/);
  expect(outcomes['during a statement']).toMatch(/^CONNECTION_CLOSED( after \d+ s)?$/);
  const concurrent = Object.entries(outcomes).filter(([name]) => /^concurrent \d$/.test(name)).map(([, outcome]) => outcome);
  expect(concurrent).toHaveLength(8);
  // Each settles: it committed, or it got the connection's own error. None is left waiting (a
  // reserve() taken out of the queue by a reconnect, or one whose connection failed to open,
  // used to leave its transaction without an answer for ever).
  for (const outcome of concurrent) expect(outcome).toMatch(/^(committed|CONNECTION_CLOSED|ECONNRESET)( after \d+ s)?$/);
  expect(concurrent.some((outcome) => outcome.startsWith('CONNECTION_CLOSED'))).toBe(true);
  // And after each cut the pool answers again.
  for (const cut of ['between statements', 'during a statement', 'concurrent']) expect(outcomes[`${cut}: recovered`], cut).toBe('yes');
  expect(unhandled).toEqual([]);
  expect(outcomes.close).toBe('closed');
}, 200_000);
