import type { Connection } from '@temporalio/client';
import { searchAttributeDefinitions } from '../workflows/invitation.messages.js';

const indexedValueType = { Keyword: 2 } as const; // temporal.api.enums.v1.IndexedValueType

/**
 * Registers our search attributes on a real cluster if missing (the embedded dev server
 * gets them as `--search-attribute` flags). Same as
 * `temporal operator search-attribute create --name UserId --type Keyword` etc.
 */
export async function ensureSearchAttributes(connection: Connection, namespace: string): Promise<void> {
  const existing = await connection.operatorService.listSearchAttributes({ namespace });
  const missing = searchAttributeDefinitions.filter((d) => !(d.name in (existing.customAttributes ?? {})));
  if (missing.length === 0) return;
  await connection.operatorService.addSearchAttributes({
    namespace,
    searchAttributes: Object.fromEntries(missing.map((d) => [d.name, indexedValueType[d.type]])),
  });
}
