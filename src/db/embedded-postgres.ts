import { mkdir } from 'node:fs/promises';
import { PGlite } from '@electric-sql/pglite';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';

/**
 * PGlite persisted under `dir`, served on a random loopback port so postgres.js (and psql,
 * for a curious developer) can talk to it like any Postgres.
 */
export async function startEmbeddedPostgres(dir: string): Promise<{ url: string; stop(): Promise<void> }> {
  await mkdir(dir, { recursive: true });
  const pg = await PGlite.create(dir);
  const server = new PGLiteSocketServer({ db: pg, host: '127.0.0.1', port: 0, maxConnections: 1 });
  await server.start();
  const conn = server.getServerConn(); // "127.0.0.1:PORT"
  return {
    url: `postgres://postgres@${conn}/postgres`,
    async stop() {
      await server.stop();
      await pg.close();
    },
  };
}
