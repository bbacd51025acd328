import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateSchema, schemaFile } from '../scripts/generate-client.js';
import { createPlatformClient } from '../packages/client/src/index.js';
import { ADMIN_KEY, startHarness, type Harness } from './support/harness.js';

/**
 * The platform's typed client: client/schema.d.ts is what the served OpenAPI document
 * generates (so the types cannot drift from the API), and the example that uses it invites a
 * user and reads it back against the running service.
 */
let h: Harness;
let base: string;
beforeAll(async () => {
  h = await startHarness();
  base = await h.listen();
});
afterAll(async () => h?.close());

describe('the typed client', () => {
  it('is generated from the current OpenAPI document (after an API change: npm run client:generate)', async () => {
    const committed = readFileSync(schemaFile, 'utf8');
    const current = await generateSchema();
    expect(committed === current, 'packages/client/src/schema.ts is stale: run `npm run client:generate` and commit it').toBe(true);
  });

  it('runs examples/invite.ts against the service: invited, pending, read back', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'examples/invite.ts', 'typed.client', 'typed.client@example.com'], {
      env: { ...process.env, API_URL: base, ADMIN_API_KEY: ADMIN_KEY },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout!.on('data', (d) => (out += d));
    child.stderr!.on('data', (d) => (err += d));
    const code = await new Promise((resolve) => child.once('exit', resolve));
    expect(code, err).toBe(0);
    const result = JSON.parse(out);
    expect(result).toMatchObject({ username: 'typed.client', status: 'invited', invitationStatus: 'pending' });
    const row = await h.db.selectFrom('users').select(['id', 'status']).where('id', '=', result.userId).executeTakeFirstOrThrow();
    expect(row.status).toBe('invited');
    await h.mail.waitFor((m) => m.to.includes('typed.client@example.com'), 15_000);
  });

  it('answers a bad request with the typed problem document, not an exception', async () => {
    const client = createPlatformClient({ baseUrl: base, apiKey: ADMIN_KEY });
    const { data, error, response } = await client.POST('/api/v1/invitations', {
      body: { username: 'has@sign', email: 'not-an-address', userType: 'member' },
    });
    expect(data).toBeUndefined();
    expect(response.status).toBe(422);
    expect(error?.status).toBe(422);
    expect(error?.title).toBeTruthy();
  });
});
