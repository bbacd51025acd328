import { parseArgs } from 'node:util';
import { runScenario, scenarios, type Outcome } from './scenarios.js';
import { startTopology } from './topology.js';

/**
 * `npm run test:faults`: the fault suite (docs/faults.md). Each scenario invites at a steady
 * rate while it makes and repairs one fault on the production topology, then checks the
 * invariants from the database, Temporal, the SMTP server and the webhook receiver. Prints
 * the table; exits 1 when an invariant broke.
 *
 *   npm run test:faults -- --scenarios worker-kill,postgres-cut --rate 5 --seconds 20 --outage 30
 */
export interface SuiteOptions {
  scenarios: string[];
  rate: number;
  seconds: number;
  outageSeconds: number;
  leadSeconds: number;
  /** The invitations' lifetime; default: load + twice the outage + 25 s, so mails go out and links are tried before it ends. */
  ttlSeconds?: number;
  log?: (line: string) => void;
}

export async function runSuite(options: SuiteOptions): Promise<{ outcomes: Outcome[]; failed: boolean; table: string }> {
  const log = options.log ?? (() => {});
  const unknown = options.scenarios.filter((name) => !scenarios.some((s) => s.name === name));
  if (unknown.length) throw new Error(`unknown scenarios: ${unknown.join(', ')} (known: ${scenarios.map((s) => s.name).join(', ')})`);
  // Long enough that every mail has gone out and every link was tried before its deadline.
  const ttlMs = (options.ttlSeconds ?? options.seconds + 2 * options.outageSeconds + 25) * 1000;
  const topology = await startTopology({ ttl: `${ttlMs / 1000}s`, log: (line) => log(line) });
  const outcomes: Outcome[] = [];
  try {
    for (const name of options.scenarios) {
      const scenario = scenarios.find((s) => s.name === name)!;
      log(`${name}: ${scenario.fault}`);
      try {
        outcomes.push(
          await runScenario(topology, scenario, {
            rate: options.rate,
            loadMs: options.seconds * 1000,
            timing: { outageMs: options.outageSeconds * 1000, leadMs: options.leadSeconds * 1000 },
            ttlMs,
            log,
          }),
        );
      } catch (error) {
        outcomes.push({ scenario: name, sent: 0, accepted: 0, refused: 0, unanswered: 0, lost: 0, doubled: 0, stranded: 0, maxLagSeconds: 0, recoverySeconds: undefined, problems: [`the scenario failed: ${(error as Error).message}`] });
      }
      // Whatever a scenario left behind, the next one starts whole.
      topology.smtp = 'ok';
      topology.restoreDatabase();
      if (topology.apis.length === 0) await topology.startApi();
      if (topology.workers.length === 0) await topology.startWorker();
    }
  } finally {
    await topology.close();
  }
  const failed = outcomes.some((o) => o.problems.length > 0 || o.maxLagSeconds > 10);
  return { outcomes, failed, table: renderTable(outcomes) };
}

export function renderTable(outcomes: Outcome[]): string {
  const head = '| scenario | sent | accepted | refused | unanswered | lost | doubled | stranded | max lag s | recovery s |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|';
  const rows = outcomes.map(
    (o) =>
      `| ${o.scenario} | ${o.sent} | ${o.accepted} | ${o.refused} | ${o.unanswered} | ${o.lost} | ${o.doubled} | ${o.stranded} | ${o.maxLagSeconds.toFixed(1)} | ${o.recoverySeconds === undefined ? '–' : o.recoverySeconds.toFixed(1)} |`,
  );
  return [head, ...rows].join('\n');
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values } = parseArgs({
    options: {
      scenarios: { type: 'string', default: scenarios.map((s) => s.name).join(',') },
      rate: { type: 'string', default: '5' },
      seconds: { type: 'string', default: '20' },
      outage: { type: 'string', default: '30' },
      lead: { type: 'string', default: '5' },
      ttl: { type: 'string' },
      verbose: { type: 'boolean', default: false },
    },
  });
  const started = Date.now();
  const result = await runSuite({
    scenarios: values.scenarios.split(',').map((s) => s.trim()).filter(Boolean),
    rate: Number(values.rate),
    seconds: Number(values.seconds),
    outageSeconds: Number(values.outage),
    leadSeconds: Number(values.lead),
    ...(values.ttl ? { ttlSeconds: Number(values.ttl) } : {}),
    log: (line) => {
      if (values.verbose || !line.startsWith('[')) console.error(`${new Date().toISOString().slice(11, 19)} ${line}`);
    },
  });
  console.log(result.table);
  for (const outcome of result.outcomes) for (const problem of outcome.problems) console.log(`${outcome.scenario}: ${problem}`);
  console.log(`\n${result.failed ? 'FAILED' : 'all invariants held'} (${Math.round((Date.now() - started) / 1000)} s)`);
  process.exit(result.failed ? 1 : 0);
}
