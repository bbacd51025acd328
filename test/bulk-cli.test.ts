import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_KEY, startHarness, type Harness } from './support/harness.js';

/** `npm run invite -- --csv …` end to end against a real service (this file's harness, listening). */
let h: Harness;
let base: string;
let dir: string;
beforeAll(async () => {
  h = await startHarness({ config: { BULK_INVITES_PER_SECOND: '1000' } });
  base = await h.listen();
  dir = mkdtempSync(path.join(tmpdir(), 'bulk-cli-'));
  expect((await h.api('POST', '/api/v1/invitations', { username: 'cli.taken', email: 'cli.taken@example.com', userType: 'member' })).status).toBe(201);
});
afterAll(async () => {
  rmSync(dir, { recursive: true, force: true });
  await h?.close();
});

const tsx = path.resolve('node_modules/.bin/tsx');
function invite(args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(tsx, ['scripts/invite.ts', ...args], { env: { ...process.env, ADMIN_API_KEY: ADMIN_KEY, NO_PROXY: '*', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}
const file = (name: string, text: string) => {
  const p = path.join(dir, name);
  writeFileSync(p, text);
  return p;
};
const people = (prefix: string) =>
  file(`${prefix}.csv`, `username,email,userType,locale\n${prefix}.a,${prefix}.a@example.com,member,en\ncli.taken,${prefix}.b@example.com,member,de\n${prefix}.c,not-an-address,member,de\n${prefix}.d,${prefix}.d@example.com,member,de\n`);
const usersLike = async (prefix: string) => (await h.db.selectFrom('users').select('username').where('username', 'like', `${prefix}.%`).orderBy('username').execute()).map((u) => u.username);

describe('npm run invite', () => {
  it('--dry-run shows what would happen to each row and invites nobody', { timeout: 60_000 }, async () => {
    const batchesBefore = (await h.db.selectFrom('bulk_batches').select('id').execute()).length;
    const run = await invite(['--csv', people('dry'), '--url', base, '--dry-run']);
    expect(run.code, run.stderr).toBe(2);
    expect(run.stdout).toContain('nobody was invited');
    expect(run.stdout).toMatch(/would be invited\s+2/);
    expect(run.stdout).toMatch(/would fail\s+2/);
    expect(run.stdout).toMatch(/2\s+3\s+cli\.taken\s+dry\.b@example\.com\s+Username already in use: username is already in use/);
    expect(run.stdout).toMatch(/3\s+4\s+dry\.c\s+not-an-address\s+The request is not valid: email/);
    expect(await usersLike('dry')).toEqual([]);
    expect((await h.db.selectFrom('bulk_batches').select('id').execute()).length).toBe(batchesBefore);
  });

  it('a real run invites the good rows, shows progress and ends with a summary table', { timeout: 120_000 }, async () => {
    const run = await invite(['--csv', people('real'), '--url', base, '--actor', 'staff:cli', '--interval', '200']);
    expect(run.code, run.stderr).toBe(2); // done, but two rows failed
    expect(run.stdout).toMatch(/Batch [0-9a-f-]{36}: 4 rows, 2 refused at once/);
    expect(run.stdout).toMatch(/\[#{30}\] 4\/4 {2}created 2 {2}failed 2/);
    expect(run.stdout).toMatch(/created\s+2\n\s+failed\s+2\n\s+rows\s+4/);
    expect(run.stdout).toMatch(/Rows not invited:[\s\S]*cli\.taken[\s\S]*real\.c/);
    expect(await usersLike('real')).toEqual(['real.a', 'real.d']);
    const creators = await h.db.selectFrom('users').select('created_by').where('username', 'in', ['real.a', 'real.d']).execute();
    expect(creators).toEqual([{ created_by: 'staff:cli' }, { created_by: 'staff:cli' }]);
  });

  it('sends the file as it is: a Latin-1 file with --charset is read as such, without it the service names the line that is not UTF-8', { timeout: 60_000 }, async () => {
    const latin1 = path.join(dir, 'latin1.csv');
    writeFileSync(latin1, Buffer.from('username,email,userType\nlatin.jürgen,latin.j@example.com,member\n', 'latin1'));
    const declared = await invite(['--csv', latin1, '--url', base, '--dry-run', '--charset', 'iso-8859-1']);
    expect(declared.code, declared.stderr).toBe(0);
    expect(declared.stdout).toMatch(/would be invited\s+1/);
    const undeclared = await invite(['--csv', latin1, '--url', base, '--dry-run']);
    expect(undeclared.code).toBe(1);
    expect(undeclared.stderr).toMatch(/422.*not UTF-8 \(line 2\)/);
  });

  it('exits 0 when every row was invited', { timeout: 120_000 }, async () => {
    const run = await invite(['--csv', file('ok.csv', 'username;email;userType\r\nok.one;ok.one@example.com;member\r\n'), '--url', base, '--interval', '200']);
    expect(run.code, run.stderr + run.stdout).toBe(0);
    expect(run.stdout).not.toContain('Rows not invited');
    expect(await usersLike('ok')).toEqual(['ok.one']);
  });

  it('says clearly when the service is not reachable, the key is wrong or the file is refused, and exits 1', { timeout: 60_000 }, async () => {
    const closed = await new Promise<number>((resolve) => {
      const server = createServer().listen(0, '127.0.0.1', () => {
        const { port } = server.address() as { port: number };
        server.close(() => resolve(port));
      });
    });
    const unreachable = await invite(['--csv', people('down'), '--url', `http://127.0.0.1:${closed}`]);
    expect(unreachable.code).toBe(1);
    expect(unreachable.stderr).toMatch(/Cannot reach the invitation service at http:\/\/127\.0\.0\.1:\d+ \(ECONNREFUSED\)/);

    const wrongKey = await invite(['--csv', people('key'), '--url', base], { ADMIN_API_KEY: 'not-the-key-0123456789' });
    expect(wrongKey.code).toBe(1);
    expect(wrongKey.stderr).toMatch(/refused the request \(401.*Check --key or ADMIN_API_KEY/);

    const badFile = await invite(['--csv', file('bad.csv', 'name,mail\nx,y\n'), '--url', base]);
    expect(badFile.code).toBe(1);
    expect(badFile.stderr).toMatch(/422[\s\S]*unknown column "name"/);

    const noKey = await invite(['--csv', people('nokey'), '--url', base], { ADMIN_API_KEY: '' });
    expect(noKey.code).toBe(1);
    expect(noKey.stderr).toContain('pass --key or set ADMIN_API_KEY');
    expect(await usersLike('key')).toEqual([]);
  });
});
