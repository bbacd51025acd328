import { sql } from 'kysely';
import type { AppDeps } from '../deps.js';

/** `/readyz`: both dependencies answer within two seconds, each reported on its own. */
export async function readiness(deps: Pick<AppDeps, 'db' | 'temporal'>) {
  const [database, temporal] = await Promise.all([
    probe(() => sql`select 1`.execute(deps.db)),
    probe(() => deps.temporal.connection.workflowService.getSystemInfo({})),
  ]);
  return { ready: database === 'ok' && temporal === 'ok', database, temporal };
}

async function probe(check: () => Promise<unknown>): Promise<string> {
  try {
    await Promise.race([check(), new Promise((_, reject) => setTimeout(() => reject(new Error('timeout')), 2000).unref())]);
    return 'ok';
  } catch (error) {
    return `unavailable: ${(error as Error).message.slice(0, 200)}`;
  }
}
