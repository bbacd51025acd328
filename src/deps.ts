import type { Client } from '@temporalio/client';
import type { Config } from './config.js';
import type { Database } from './db/database.js';
import type { Logger } from './log.js';
import type { WebhookNetwork } from './webhooks/address-policy.js';

/** What the API's services need; built once per process (src/main.ts, tests). */
export interface AppDeps {
  db: Database;
  temporal: Client;
  config: Config;
  log: Logger;
  /** Admin bearer keys: ADMIN_API_KEY plus any issued later. */
  adminKeys: string[];
  /** Where calendar deadlines (R10's midnight) start from; tests on a skipped clock pass theirs. */
  clock?: () => Date;
  /** How webhook hosts are resolved (tests pass a resolver that never asks real DNS). */
  webhookNetwork?: WebhookNetwork;
}
