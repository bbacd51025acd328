import { CompiledQuery, Kysely, Migrator, type DatabaseConnection, type Driver, type Transaction } from 'kysely';
import { PostgresJSDialect, PostgresJSDriver, type PostgresJSDialectConfig } from 'kysely-postgres-js';
import postgres from 'postgres';
import type { DB } from './schema.js';
import { migrations } from './migrations/index.js';
import { startEmbeddedPostgres } from './embedded-postgres.js';

export type Database = Kysely<DB>;

/**
 * Kysely 0.28 answers a failed ROLLBACK by marking the connection for discard through a method
 * only its own `pg` driver's connections have; kysely-postgres-js 3's lack it. So when the
 * database dropped a connection mid-transaction (a restart, a network cut), the caller got
 * "connection[PRIVATE_MARK_FOR_DISCARD_METHOD] is not a function" in place of the connection
 * error: a 500 instead of the documented 503 (faults/, test/database-connection-cut.test.ts).
 * The rollback's own error is the one to report; postgres.js retires a closed connection itself.
 */
class RollbackSafeDriver extends PostgresJSDriver {
  override async rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw('rollback'));
  }
}

class ServiceDialect extends PostgresJSDialect {
  constructor(private readonly settings: PostgresJSDialectConfig) {
    super(settings);
  }
  override createDriver(): Driver {
    return new RollbackSafeDriver(this.settings);
  }
}
/** Repository functions take either, so callers decide where the transaction begins. */
export type Queryable = Kysely<DB> | Transaction<DB>;

export interface DatabaseHandle {
  db: Database;
  /** Where the database lives, without credentials (for start-up output). */
  description: string;
  /**
   * LISTEN on a channel; `onNotify` runs for each notification. postgres.js keeps one
   * connection for it and listens again after a reconnect (notifications sent in between are lost).
   */
  listen(channel: string, onNotify: () => void): Promise<{ unlisten(): Promise<void> }>;
  close(): Promise<void>;
}

export interface DatabaseOptions {
  /** Postgres URL; unset → embedded PGlite under `${dataDir}/pg`. */
  url?: string | undefined;
  dataDir: string;
  maxConnections?: number;
  /** Seconds to wait for a connection before the query fails (default 5). */
  connectTimeoutSeconds?: number;
}

/**
 * One code path for both: real Postgres through postgres.js, or PGlite served over the
 * Postgres wire protocol on loopback and reached through postgres.js too, so the same
 * driver, types and migrations run in development and production.
 */
export async function openDatabase(options: DatabaseOptions): Promise<DatabaseHandle> {
  let url = options.url;
  let stopEmbedded: (() => Promise<void>) | undefined;
  let description: string;
  let max = options.maxConnections ?? 10;
  if (!url) {
    const embedded = await startEmbeddedPostgres(`${options.dataDir}/pg`);
    url = embedded.url;
    stopEmbedded = embedded.stop;
    description = `embedded PGlite in ${options.dataDir}/pg (${embedded.url})`;
    // PGlite is a single session: one connection keeps transactions from interleaving.
    max = 1;
  } else {
    const u = new URL(url);
    description = `postgres://${u.host}${u.pathname}`;
  }
  const sql = postgres(url, {
    max,
    // A database that does not accept a connection within seconds is down: the API answers
    // 503 then (src/api/problem.ts) instead of holding the request for postgres.js's 30 s.
    connect_timeout: options.connectTimeoutSeconds ?? 5,
    onnotice: () => {},
    // Date objects in, Date objects out; no surprises from the session's time zone.
    connection: { TimeZone: 'UTC' },
  });
  const db = new Kysely<DB>({ dialect: new ServiceDialect({ postgres: sql }) });
  return {
    db,
    description,
    async listen(channel, onNotify) {
      // PGlite serves one session at a time: a LISTEN connection would wait for ever beside the pool's.
      if (stopEmbedded) throw new Error('LISTEN is not available with embedded PGlite');
      const subscription = await sql.listen(channel, () => onNotify());
      return { unlisten: () => subscription.unlisten() };
    },
    async close() {
      // Bounded: after a connection cut, a connection can be left waiting for an answer that
      // never comes; ending waits 5 s for queries in flight, then closes the sockets.
      await sql.end({ timeout: 5 });
      await db.destroy();
      await stopEmbedded?.();
    },
  };
}

export async function migrateToLatest(db: Kysely<any>): Promise<void> {
  const migrator = new Migrator({ db, provider: { getMigrations: async () => migrations } });
  const { error, results } = await migrator.migrateToLatest();
  const failed = results?.find((r) => r.status === 'Error');
  if (error || failed) {
    throw new Error(`Migration ${failed?.migrationName ?? ''} failed: ${String(error)}`, { cause: error });
  }
}
