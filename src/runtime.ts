import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import type { Config } from './config.js';
import { apiConnectionOptions } from './temporal/calls.js';
import { migrateToLatest, openDatabase, type DatabaseHandle } from './db/database.js';
import { createSecretBox, parseKey, type SecretBox } from './mail/secret-box.js';

/** Shared start-up steps of the combined dev process, the API process and the worker. */

export async function openMigratedDatabase(config: Config): Promise<DatabaseHandle> {
  const handle = await openDatabase({ url: config.DATABASE_URL, dataDir: config.DATA_DIR });
  // Migrations take a lock (Kysely's migration lock table), so several processes may race here safely.
  await migrateToLatest(handle.db);
  return handle;
}

export async function connectTemporal(config: Config, address: string): Promise<Client> {
  const connection = await Connection.connect(apiConnectionOptions(address));
  return new Client({ connection, namespace: config.TEMPORAL_NAMESPACE });
}

/**
 * The key for logged links. Configured (EMAIL_ENCRYPTION_KEY) wherever several processes
 * share a database; for a single local setup it is created once under DATA_DIR.
 */
export function loadSecretBox(config: Config): SecretBox {
  if (config.EMAIL_ENCRYPTION_KEY) return createSecretBox(parseKey(config.EMAIL_ENCRYPTION_KEY));
  if (config.DATABASE_URL) {
    throw new Error('EMAIL_ENCRYPTION_KEY is required with DATABASE_URL (32 bytes as 64 hex digits or base64): every process must share it.');
  }
  const file = path.join(config.DATA_DIR, 'email-encryption.key');
  if (!existsSync(file)) {
    mkdirSync(config.DATA_DIR, { recursive: true });
    writeFileSync(file, randomBytes(32).toString('base64'), { mode: 0o600 });
  }
  chmodSync(file, 0o600);
  return createSecretBox(parseKey(readFileSync(file, 'utf8')));
}

export function adminKeys(config: Config): { keys: string[]; generated: boolean } {
  if (config.ADMIN_API_KEY) return { keys: [config.ADMIN_API_KEY], generated: false };
  return { keys: [randomBytes(24).toString('base64url')], generated: true };
}
