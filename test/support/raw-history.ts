import { Client, Connection } from '@temporalio/client';
import { defaultPayloadConverter, type Payload, type PayloadCodec } from '@temporalio/common';
import type { temporal } from '@temporalio/proto';
import { inject } from 'vitest';

export type RawHistory = temporal.api.history.v1.IHistory;
export type RawEvent = temporal.api.history.v1.IHistoryEvent;

/** A history as Temporal stores it: fetched by a client that has no codec. */
export async function fetchRawHistory(workflowId: string): Promise<RawHistory> {
  const client = new Client({ connection: await Connection.connect({ address: inject('temporalAddress') }) });
  try {
    return await client.workflow.getHandle(workflowId).fetchHistory();
  } finally {
    await client.connection.close();
  }
}

const isBytes = (value: unknown): value is Uint8Array => value instanceof Uint8Array;

/**
 * Every string and byte string of a history as text, except inside search attributes (which
 * stay readable on purpose: operators search by them).
 */
export function textOutsideSearchAttributes(value: unknown): string {
  const parts: string[] = [];
  const walk = (node: unknown) => {
    if (node == null) return;
    if (typeof node === 'string') parts.push(node);
    else if (isBytes(node)) parts.push(Buffer.from(node).toString('latin1'));
    else if (Array.isArray(node)) node.forEach(walk);
    else if (typeof node === 'object') {
      for (const [key, child] of Object.entries(node)) if (key !== 'searchAttributes') walk(child);
    }
  };
  walk(value);
  return parts.join('\n');
}

/** Every payload of a history outside search attributes. */
export function payloadsOutsideSearchAttributes(value: unknown): Payload[] {
  const found: Payload[] = [];
  const walk = (node: unknown) => {
    if (node == null || typeof node !== 'object' || isBytes(node)) return;
    if (Array.isArray(node)) return node.forEach(walk);
    const record = node as Record<string, unknown>;
    if (isBytes(record.data) && record.metadata && typeof record.metadata === 'object') {
      found.push(record as Payload);
      return;
    }
    for (const [key, child] of Object.entries(record)) if (key !== 'searchAttributes') walk(child);
  };
  walk(value);
  return found;
}

export const metadataText = (payload: Payload, key: string) => {
  const value = payload.metadata?.[key];
  return value ? Buffer.from(value).toString('utf8') : undefined;
};

/** Opens sealed payloads with a codec and converts them to values, as a client would. */
export async function openPayloads(codec: PayloadCodec, payloads: Payload[] | null | undefined): Promise<unknown[]> {
  return (await codec.decode(payloads ?? [])).map((p) => defaultPayloadConverter.fromPayload(p));
}
