import { expect, it } from 'vitest';
import { runSuite } from '../faults/run.js';

/**
 * The fault suite's short version (`npm run test:faults` is the whole one, docs/faults.md):
 * the production topology — API and worker as their own processes, a file-backed Temporal
 * dev server, Postgres behind a proxy that can cut it, a real SMTP server and a webhook
 * receiver — with a worker and then the API SIGKILLed mid-load, then every database connection
 * cut for 6 s, and every invariant checked afterwards: each 201 one user, one workflow, one
 * mail whose link opens, each deadline kept within 10 s, each webhook event once per id and in
 * order, nothing else made, and no process dead of the fault (the cut used to kill both).
 */
it('a worker killed, the API killed and the database cut lose, double and strand nothing', async () => {
  const lines: string[] = [];
  const result = await runSuite({
    scenarios: ['worker-kill', 'api-kill', 'postgres-cut'],
    rate: 3,
    seconds: 6,
    outageSeconds: 6,
    leadSeconds: 2,
    ttlSeconds: 22,
    log: (line) => lines.push(line),
  });
  const problems = result.outcomes.flatMap((o) => o.problems.map((p) => `${o.scenario}: ${p}`));
  expect(problems, `${result.table}\n${lines.slice(-60).join('\n')}`).toEqual([]);
  expect(result.failed).toBe(false);
  // The load really ran and really met the faults: invitations were made in each scenario,
  // and the killed API left some unanswered (a suite that invited nothing would pass vacuously).
  for (const outcome of result.outcomes) expect(outcome.accepted, outcome.scenario).toBeGreaterThan(5);
  const killed = result.outcomes.find((o) => o.scenario === 'api-kill')!;
  expect(killed.refused + killed.unanswered).toBeGreaterThan(0);
  const cut = result.outcomes.find((o) => o.scenario === 'postgres-cut')!;
  expect(cut.refused + cut.unanswered).toBeGreaterThan(0);
}, 330_000);
