/**
 * `npm run invite -- --csv people.csv`: a bulk invitation from a terminal, against a running
 * service (POST /api/v1/invitations/bulk, then GET its Location until it is done), with a
 * progress bar and a summary table. `--dry-run` asks the service what would happen (every
 * check, taken names included) and invites nobody.
 *
 * Exit codes: 0 every row invited (or, dry run, would be); 2 done, but some rows failed (or
 * would fail); 1 nothing done: bad arguments, file unreadable, service unreachable or refused.
 */
import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { runningServiceUrl } from '../src/dev/running-service.js';

const USAGE = `Usage: npm run invite -- --csv people.csv [--url http://localhost:3000] [--key KEY] [--dry-run] [--actor NAME]

  --csv FILE     CSV with a header row: username,email,userType[,isStaff,permissions,locale]
                 (comma or semicolon; at most 1,000 rows)
  --url URL      the invitation service (default $INVITATIONS_URL, else the one npm start
                 runs (it records itself in $DATA_DIR/service.json), else localhost:$PORT)
  --key KEY      admin API key, or a named key with invitations:write (default $ADMIN_API_KEY)
  --charset CS   the file's charset if not UTF-8: windows-1252, iso-8859-1 or latin1
  --dry-run      check every row on the service and show what would happen; invite nobody
  --actor NAME   who is inviting, for the audit trail (X-Actor)
  --interval MS  how often to ask for progress (default 1000)`;

interface Problem {
  type?: string;
  title?: string;
  status?: number;
  detail?: string;
  errors?: Array<{ field: string; message: string }>;
}
interface RowResult {
  row: number;
  line: number | null;
  username: string;
  email: string;
  status: string;
  userId?: string | null;
  problem: Problem | null;
}
interface Batch {
  id: string;
  status: 'running' | 'completed';
  counts: { total: number; pending: number; created: number; failed: number };
  rows: RowResult[];
}
interface DryRun {
  dryRun: true;
  counts: { total: number; valid: number; failed: number };
  rows: RowResult[];
}

class Failure extends Error {}

const out = (line = '') => process.stdout.write(`${line}\n`);

async function main(): Promise<number> {
  let args;
  try {
    args = parseArgs({
      options: {
        csv: { type: 'string' },
        url: { type: 'string', default: runningServiceUrl() },
        key: { type: 'string' },
        charset: { type: 'string' },
        'dry-run': { type: 'boolean', default: false },
        actor: { type: 'string' },
        interval: { type: 'string', default: '1000' },
        help: { type: 'boolean', short: 'h', default: false },
      },
      strict: true,
    }).values;
  } catch (error) {
    throw new Failure(`${(error as Error).message}\n\n${USAGE}`);
  }
  if (args.help) {
    out(USAGE);
    return 0;
  }
  if (!args.csv) throw new Failure(`--csv is required.\n\n${USAGE}`);
  const key = args.key ?? process.env.ADMIN_API_KEY;
  if (!key) throw new Failure('No admin key: pass --key or set ADMIN_API_KEY (npm start keeps one in .data/admin-api.key).');
  let base: URL;
  try {
    base = new URL(args.url);
  } catch {
    throw new Failure(`--url is not a URL: ${args.url}`);
  }
  const interval = Math.max(100, Number(args.interval) || 1000);
  // The bytes as they are: the service reads them in the declared charset (UTF-8 without one)
  // and says which line is not, instead of this script turning them into replacement characters.
  let file: ArrayBuffer;
  try {
    file = new Uint8Array(await readFile(args.csv)).buffer;
  } catch (error) {
    throw new Failure(`Cannot read ${args.csv}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }

  const headers: Record<string, string> = { authorization: `Bearer ${key}`, accept: 'application/json' };
  if (args.actor) headers['x-actor'] = args.actor;
  const csvType = args.charset ? `text/csv; charset=${args.charset}` : 'text/csv';

  if (args['dry-run']) {
    const res = await call(base, '/api/v1/invitations/bulk?dryRun=true', { method: 'POST', headers: { ...headers, 'content-type': csvType }, body: file });
    const dry = (await res.json()) as DryRun;
    out(`Dry run of ${args.csv}: nobody was invited.`);
    out();
    printCounts([
      ['would be invited', dry.counts.valid],
      ['would fail', dry.counts.failed],
      ['rows', dry.counts.total],
    ]);
    printFailures(dry.rows.filter((r) => r.status === 'failed'));
    return dry.counts.failed > 0 ? 2 : 0;
  }

  // One key for this run: a retry after a lost answer finds the same batch, never a second.
  const idempotencyKey = `cli-${randomUUID()}`;
  const res = await call(base, '/api/v1/invitations/bulk', { method: 'POST', headers: { ...headers, 'content-type': csvType, 'idempotency-key': idempotencyKey }, body: file }, 3);
  let batch = (await res.json()) as Batch;
  const location = res.headers.get('location') ?? `/api/v1/invitations/bulk/${batch.id}`;
  out(`Batch ${batch.id}: ${batch.counts.total} rows, ${batch.counts.failed} refused at once; inviting the rest (${new URL(location, base)}).`);
  const bar = progressBar(batch.counts.total);
  process.once('SIGINT', () => {
    bar.done();
    out(`\nStopped watching. The batch goes on in the service: GET ${new URL(location, base)}`);
    process.exit(130);
  });
  bar.update(batch.counts);
  while (batch.status !== 'completed') {
    await new Promise((resolve) => setTimeout(resolve, interval));
    batch = (await (await call(base, location, { headers }, 3)).json()) as Batch;
    bar.update(batch.counts);
  }
  bar.done();
  out();
  printCounts([
    ['created', batch.counts.created],
    ['failed', batch.counts.failed],
    ['rows', batch.counts.total],
  ]);
  printFailures(batch.rows.filter((r) => r.status === 'failed'));
  return batch.counts.failed > 0 ? 2 : 0;
}

/** fetch with the service's problem documents turned into messages; retries outages `tries` times. */
async function call(base: URL, path: string, init: RequestInit, tries = 1): Promise<Response> {
  const url = new URL(path, base);
  for (let attempt = 1; ; attempt++) {
    let res: Response;
    try {
      res = await fetch(url, init);
    } catch (error) {
      const cause = (error as { cause?: { code?: string; message?: string } }).cause;
      if (attempt < tries) {
        await new Promise((resolve) => setTimeout(resolve, 1000 * attempt));
        continue;
      }
      throw new Failure(`Cannot reach the invitation service at ${base.origin} (${cause?.code ?? cause?.message ?? (error as Error).message}). Is it running? Point --url at it.`);
    }
    if (res.ok) return res;
    if (res.status === 503 && attempt < tries) {
      await new Promise((resolve) => setTimeout(resolve, 1000 * Math.max(attempt, Number(res.headers.get('retry-after')) || 1)));
      continue;
    }
    const problem = (await res.json().catch(() => ({}))) as Problem;
    const reasons = problem.errors?.map((e) => `\n  - ${e.field}: ${e.message}`).join('') ?? '';
    const hint = res.status === 401 ? ' Check --key or ADMIN_API_KEY.' : '';
    throw new Failure(`The service refused the request (${res.status} ${problem.title ?? res.statusText}): ${problem.detail ?? ''}${hint}${reasons}`);
  }
}

function progressBar(total: number) {
  const tty = process.stdout.isTTY === true;
  let lastShown = -1;
  return {
    update(counts: Batch['counts']) {
      const done = counts.created + counts.failed;
      const width = 30;
      const filled = total ? Math.round((done / total) * width) : width;
      const text = `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${done}/${total}  created ${counts.created}  failed ${counts.failed}`;
      if (tty) process.stdout.write(`\r${text}`);
      else if (Math.floor((done / Math.max(total, 1)) * 10) !== lastShown || done === total) {
        // Not a terminal (a log, CI): a line per tenth, not a redraw per poll.
        lastShown = Math.floor((done / Math.max(total, 1)) * 10);
        out(text);
      }
    },
    done() {
      if (tty) out();
    },
  };
}

function printCounts(rows: Array<[string, number]>) {
  const width = Math.max(...rows.map(([label]) => label.length));
  for (const [label, n] of rows) out(`  ${label.padEnd(width)}  ${String(n).padStart(5)}`);
}

function printFailures(failed: RowResult[]) {
  if (failed.length === 0) return;
  out();
  out('Rows not invited:');
  const clip = (s: string, n: number) => (s.length > n ? `${s.slice(0, n - 1)}…` : s);
  const table = failed.map((r) => [String(r.row), r.line === null ? '' : String(r.line), clip(r.username, 24), clip(r.email, 32), reasonOf(r.problem)]);
  const head = ['row', 'line', 'username', 'email', 'reason'];
  const widths = head.map((h, i) => Math.max(h.length, ...table.map((cells) => (i < 4 ? cells[i]!.length : 0))));
  const line = (cells: string[]) => `  ${cells.map((c, i) => (i < 4 ? c.padEnd(widths[i]!) : c)).join('  ')}`;
  out(line(head));
  for (const cells of table) out(line(cells));
}

function reasonOf(problem: Problem | null): string {
  if (!problem) return '';
  const fields = problem.errors?.map((e) => `${e.field} ${e.message}`).join('; ');
  return fields ? `${problem.title ?? problem.detail}: ${fields}` : (problem.detail ?? problem.title ?? '');
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`${error instanceof Failure ? error.message : `Unexpected error: ${(error as Error).stack ?? String(error)}`}\n`);
    process.exit(1);
  },
);
