import { Context } from '@temporalio/activity';
import { inviteBatchRows } from '../bulk/bulk.service.js';
import { createLogger } from '../log.js';
import type { ActivityDeps } from './index.js';

export function createBulkActivities({ db, config }: ActivityDeps) {
  const log = createLogger(config.LOG_LEVEL);
  return {
    /**
     * One tick of a bulk invitation: the next `limit` pending rows, each through the normal
     * invite path (Update-with-Start of its invitation workflow), with the worker's own
     * Temporal client (it seals payloads with the worker's codec).
     */
    async inviteBulkRows({ batchId, limit }: { batchId: string; limit: number }): Promise<{ remaining: number }> {
      const context = Context.current();
      const deps = { db, temporal: context.client, config, log, adminKeys: [] };
      return inviteBatchRows(deps, batchId, limit, { heartbeat: () => context.heartbeat(), cancelled: context.cancellationSignal });
    },
  };
}
