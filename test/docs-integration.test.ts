import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { failureStatus } from '../src/errors.js';
import { ADMIN_KEY, eventually, startHarness, type Harness } from './support/harness.js';

/**
 * docs/integration.md's examples are what the platform's developers paste into a shell, so
 * they run here, against the whole service, in the order of the page: every ```sh example
 * block, with `localhost:3000` pointing at this file's service. Each `# 201 …` comment under
 * a request is the status it must answer; shell variables (USER_ID, …) carry on to later
 * blocks, as they do for a reader running them top to bottom.
 */
const docPath = path.resolve('docs/integration.md');

export interface Example {
  heading: string;
  line: number;
  code: string;
}

export function examplesOf(markdown: string): Example[] {
  const examples: Example[] = [];
  let heading = '';
  const lines = markdown.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (/^#{1,6} /.test(line)) heading = line.replace(/^#+ /, '');
    if (line.trim() === '```sh example') {
      const end = lines.findIndex((l, j) => j > i && l.trim() === '```');
      examples.push({ heading, line: i + 1, code: lines.slice(i + 1, end).join('\n') });
      i = end;
    }
  }
  return examples;
}

/** The statuses a block promises: the `# 201 …` comment lines, in order. */
const promisedStatuses = (code: string) => [...code.matchAll(/^# (\d{3})\b/gm)].map((m) => Number(m[1]));
// `NAME=$(…)` or `NAME=value` on a line of its own; `NAME=value command` only sets it for the command.
const assignedVariables = (code: string) => [...new Set([...code.matchAll(/^([A-Z_][A-Z0-9_]*)=(?:\$\(|\S*$)/gm)].map((m) => m[1]!))];

/** Work the test does between blocks that a reader's pause does for them. */
const before: Record<string, (h: Harness) => Promise<void>> = {
  // The invitation mail is logged by the workflow, a moment after the 201.
  'The email log and re-sending': async (h) => {
    await eventually(async () => {
      const log = await h.api('GET', '/api/v1/emails?type=user_invitation');
      return (log.body.items as { to: string }[]).some((mail) => mail.to === 'erika@example.com');
    }, 20_000, 'the invitation mail in the log');
  },
};

/** Asynchronously: the service answering the block's requests runs in this process. */
function bash(script: string, env: Record<string, string>): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', ['-c', script], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('error', reject);
    child.on('close', (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
  });
}

describe('docs/integration.md', () => {
  let h: Harness;
  let base: string;
  let dir: string;
  beforeAll(async () => {
    const missing = (await bash('for tool in curl jq; do command -v $tool >/dev/null || echo $tool; done', {})).stdout.trim();
    if (missing) throw new Error(`docs/integration.md's examples need ${missing.split('\n').join(' and ')} (apt-get install -y curl jq; .ci/run does it)`);
    // platform.example.com resolves to a public address here (nothing leaves: the test network connects to loopback only).
    h = await startHarness({ webhooks: true, webhookHosts: { 'platform.example.com': ['93.184.216.34'] } });
    base = await h.listen();
    dir = mkdtempSync(path.join(tmpdir(), 'docs-integration-'));
  });
  afterAll(async () => {
    await h?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('has an example for each thing an integration does', () => {
    const headings = new Set(examplesOf(readFileSync(docPath, 'utf8')).map((e) => e.heading));
    for (const topic of ['Inviting a user', 'API keys and scopes', 'Idempotency', 'Error documents', 'Webhooks', 'Bulk invitations', 'The email log and re-sending', 'Mail templates', 'The audit trail', 'The typed client']) {
      expect(headings, topic).toContain(topic);
    }
  });

  it('runs every example, in order, and each request answers the status written under it', { timeout: 180_000 }, async () => {
    const state = path.join(dir, 'state.sh');
    writeFileSync(state, '');
    const variables: string[] = [];
    for (const example of examplesOf(readFileSync(docPath, 'utf8'))) {
      await before[example.heading]?.(h);
      variables.push(...assignedVariables(example.code).filter((v) => !variables.includes(v)));
      const script = [
        'set -euo pipefail',
        // Quiet progress; each request's status on stderr, where $(…) does not capture it.
        `curl() { command curl -sS -w '%{stderr}\\nHTTP_STATUS %{http_code}\\n' "$@"; }`,
        `source ${JSON.stringify(state)}`,
        example.code.replaceAll('http://localhost:3000', base).replaceAll('localhost:3000', base),
        ...(variables.length ? [`declare -p ${variables.join(' ')} > ${JSON.stringify(state)}`] : []),
      ].join('\n');
      const run = await bash(script, { KEY: ADMIN_KEY, ADMIN_API_KEY: ADMIN_KEY });
      if (process.env.DOCS_EXAMPLES_DEBUG) console.log(example.heading, run.stdout, run.stderr);
      const where = `docs/integration.md:${example.line} (${example.heading})\n--- stdout\n${run.stdout}\n--- stderr\n${run.stderr}`;
      expect(run.status, where).toBe(0);
      const answered = [...run.stderr.matchAll(/^HTTP_STATUS (\d{3})$/gm)].map((m) => Number(m[1]));
      expect(answered, where).toEqual(promisedStatuses(example.code));
    }
  });

  it('lists every problem type with the status it always has', () => {
    const doc = readFileSync(docPath, 'utf8');
    const table = doc.slice(doc.indexOf('<!-- problem-types'));
    const listed = new Map<string, number>();
    for (const [, status, types] of table.matchAll(/^\| (\d{3}) \| (.+) \|$/gm)) {
      for (const [, type] of types!.matchAll(/`([a-z-]+)`/g)) listed.set(type!, Number(status));
    }
    const kebab = (s: string) => s.replace(/([a-z])([A-Z])/g, '$1-$2').toLowerCase();
    expect(Object.fromEntries(listed)).toEqual(Object.fromEntries(Object.entries(failureStatus).map(([type, status]) => [kebab(type), status])));
  });
});
