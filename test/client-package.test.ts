import { execFile } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_KEY, startHarness, type Harness } from './support/harness.js';

/**
 * The typed client as a platform gets it (issue 17.1): `npm pack` of packages/client, installed
 * from that tarball into a project of its own (examples/platform-app, copied to a temporary
 * folder outside this repository), used there from ES modules, CommonJS and TypeScript against
 * the running service. openapi-fetch comes from this repository's node_modules, packed the
 * same way, so nothing is downloaded.
 */
const run = promisify(execFile);
const npm = (args: string[], cwd: string) => run('npm', [...args, '--no-audit', '--no-fund', '--loglevel=error'], { cwd, env: { ...process.env, npm_config_update_notifier: 'false' } });
const repo = path.resolve('.');

let h: Harness;
let base: string;
let dir: string;
let app: string;
let packed: { filename: string; files: Array<{ path: string }> };
beforeAll(async () => {
  h = await startHarness();
  base = await h.listen();
  dir = mkdtempSync(path.join(tmpdir(), 'client-package-'));
  app = path.join(dir, 'app');
  // prepack builds it (tsc twice): the tarball never holds stale or missing output.
  const { stdout } = await npm(['pack', '-w', '@invitations/client', '--pack-destination', dir, '--json'], repo);
  packed = (JSON.parse(stdout) as Array<typeof packed>)[0]!;
}, 180_000);
afterAll(async () => {
  rmSync(dir, { recursive: true, force: true });
  await h?.close();
});

describe('the @invitations/client package', () => {
  it('packs into a tarball of built JavaScript and declarations for ESM and CommonJS, with openapi-fetch as its dependency', () => {
    const files = packed.files.map((f) => f.path).sort();
    expect(files).toEqual(expect.arrayContaining(['package.json', 'README.md', 'dist/esm/index.js', 'dist/esm/index.d.ts', 'dist/cjs/index.js', 'dist/cjs/index.d.ts', 'dist/cjs/package.json']));
    // Neither the TypeScript sources nor the generator (which imports the service) ship.
    expect(files.filter((f) => !f.startsWith('dist/') && f !== 'package.json' && f !== 'README.md')).toEqual([]);
    const manifest = JSON.parse(readFileSync('packages/client/package.json', 'utf8'));
    expect(manifest.dependencies).toEqual({ 'openapi-fetch': expect.stringMatching(/0\.17/) });
    expect(packed.filename).toBe('invitations-client-0.1.0.tgz');
  });

  it('installs from the tarball into a project of its own, which uses it from ESM, CommonJS and TypeScript against the service', async () => {
    await npm(['pack', path.join(repo, 'node_modules/openapi-fetch'), path.join(repo, 'node_modules/openapi-typescript-helpers'), '--pack-destination', dir], repo);
    cpSync('examples/platform-app', app, { recursive: true });
    const tarballs = [packed.filename, 'openapi-fetch-0.17.0.tgz', 'openapi-typescript-helpers-0.1.0.tgz'].map((f) => path.join(dir, f));
    await npm(['install', '--offline', '--ignore-scripts', ...tarballs], app);
    const env = { ...process.env, API_URL: base, ADMIN_API_KEY: ADMIN_KEY };

    const esm = await run(process.execPath, ['invite.mjs', 'pkg.erika', 'pkg.erika@example.com'], { cwd: app, env });
    const invited = JSON.parse(esm.stdout);
    expect(invited).toMatchObject({ status: 'invited', invitationStatus: 'pending', metadata: { tenant: 'acme' } });
    const row = await h.db.selectFrom('users').select('username').where('id', '=', invited.userId).executeTakeFirstOrThrow();
    expect(row.username).toBe('pkg.erika');

    const cjs = await run(process.execPath, ['problem.cjs'], { cwd: app, env });
    expect(JSON.parse(cjs.stdout)).toEqual({ status: 422, problemStatus: 422, fields: expect.arrayContaining(['username', 'email']) });

    // The declarations type both module systems; the example's deliberate mistake is caught.
    await run(process.execPath, [path.join(repo, 'node_modules/typescript/bin/tsc'), '-p', app], { cwd: app });
  }, 120_000);
});
