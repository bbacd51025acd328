import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import postgres from 'postgres';
import type { TestProject } from 'vitest/node';
import { startTemporalDevServer, type DevServer } from '../../src/dev/temporal-dev-server.js';
import { findTemporalTestServer } from '../../src/dev/temporal-cli.js';
import { migrateToLatest, openDatabase } from '../../src/db/database.js';
import { bundleInvitationWorkflows } from '../../src/temporal/bundle.js';
import { freePort } from '../../src/dev/ports.js';

declare module 'vitest' {
  export interface ProvidedContext {
    temporalAddress: string;
    testServerPath: string;
    pgAdminUrl: string;
    templateDatabase: string;
    workflowBundlePath: string;
  }
}

/**
 * Once per run: a real Temporal dev server, a migrated template database on the machine's
 * Postgres (each test file clones it), the time-skipping server binary, and the workflow
 * bundle (built once, not per worker).
 */
export default async function setup(project: TestProject) {
  const adminUrl = process.env.TEST_PG_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
  const template = `invitations_tmpl_${process.pid}`;
  const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
  try {
    await admin.unsafe(`drop database if exists ${template}`);
    await admin.unsafe(`create database ${template}`);
  } catch (error) {
    throw new Error(`Tests need a Postgres at ${adminUrl} (set TEST_PG_ADMIN_URL): ${(error as Error).message}`);
  }
  const templateUrl = Object.assign(new URL(adminUrl), { pathname: `/${template}` }).toString();
  const handle = await openDatabase({ url: templateUrl, dataDir: '.data' });
  await migrateToLatest(handle.db);
  await handle.close();

  const dir = mkdtempSync(path.join(tmpdir(), 'invitations-test-'));
  const bundle = await bundleInvitationWorkflows();
  const bundlePath = path.join(dir, 'workflow-bundle.js');
  writeFileSync(bundlePath, bundle.code);

  const devServer: DevServer = await startTemporalDevServer({
    port: await freePort(),
    uiPort: await freePort(),
    namespace: 'default',
    headless: true,
  });

  project.provide('temporalAddress', devServer.address);
  project.provide('testServerPath', findTemporalTestServer());
  project.provide('pgAdminUrl', adminUrl);
  project.provide('templateDatabase', template);
  project.provide('workflowBundlePath', bundlePath);

  return async () => {
    await devServer.stop();
    // Clone databases of crashed files would block dropping the template; drop them too.
    const leftovers = await admin<{ datname: string }[]>`select datname from pg_database where datname like ${`invitations_t_${process.pid}_%`}`;
    for (const { datname } of leftovers) await admin.unsafe(`drop database if exists ${datname} with (force)`);
    await admin.unsafe(`drop database if exists ${template} with (force)`);
    await admin.end();
    rmSync(dir, { recursive: true, force: true });
  };
}
