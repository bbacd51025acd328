import { createServer, type Server, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../src/api/app.js';
import { openDatabase, type DatabaseHandle } from '../src/db/database.js';
import { freePort } from '../src/dev/ports.js';
import { ADMIN_KEY, startHarness, type Harness } from './support/harness.js';

/**
 * Issue 19.5: while the database is down the API answers at once with a 503 problem that
 * says what happened to the request, with Retry-After — never a 500, never a request held
 * for half a minute.
 */
let h: Harness;
let refused: DatabaseHandle;
let hung: DatabaseHandle;
let blackhole: Server;
const sockets: Socket[] = [];
beforeAll(async () => {
  h = await startHarness();
  // Nothing listens here: connections are refused.
  refused = await openDatabase({ url: `postgres://postgres@127.0.0.1:${await freePort()}/nothing`, dataDir: '.data', connectTimeoutSeconds: 2 });
  // Takes connections and never says a word: a database that hangs.
  blackhole = createServer((socket) => sockets.push(socket));
  const port = await freePort();
  await new Promise<void>((resolve) => blackhole.listen(port, '127.0.0.1', resolve));
  hung = await openDatabase({ url: `postgres://postgres@127.0.0.1:${port}/nothing`, dataDir: '.data', connectTimeoutSeconds: 2 });
});
afterAll(async () => {
  for (const socket of sockets) socket.destroy();
  blackhole?.close();
  // Pools that never connected can wait on their sockets when ended; they go with the process.
  await Promise.race([Promise.all([refused?.close(), hung?.close()]), new Promise((resolve) => setTimeout(resolve, 2_000))]);
  await h?.close();
});

async function inviteThrough(database: DatabaseHandle, username: string) {
  const app = createApp({ ...h.deps, db: database.db });
  const started = Date.now();
  const res = await app.request('/api/v1/invitations', {
    method: 'POST',
    headers: { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'application/json' },
    body: JSON.stringify({ username, email: `${username}@example.com`, userType: 'member' }),
  });
  return { res, body: await res.json(), ms: Date.now() - started };
}

describe('the database is down', () => {
  it.each([
    ['refuses connections', () => refused],
    ['hangs', () => hung],
  ])('when it %s, an invitation gets a fast 503 problem with Retry-After and nothing is created', async (_what, database) => {
    const username = `dbdown-${Math.random().toString(36).slice(2, 8)}`;
    const { res, body, ms } = await inviteThrough(database(), username);
    expect(res.status).toBe(503);
    expect(res.headers.get('content-type')).toContain('application/problem+json');
    expect(res.headers.get('retry-after')).toBe('5');
    expect(body.type).toMatch(/dependency-unavailable/);
    expect(body.detail).toContain('Idempotency-Key');
    expect(ms).toBeLessThan(6_000);
    expect(await h.db.selectFrom('users').select('id').where('username', '=', username).execute()).toEqual([]);
  });
});
