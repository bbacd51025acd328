/**
 * Metadata: the platform's own small, flat JSON object about a user, given with the
 * invitation, returned with the user and echoed in its webhook events (issue 17.3). Flat
 * scalars only, so every receiver can index it without walking a tree; small, because it
 * travels in every event and every workflow input of the user.
 */
export type { Metadata } from '../db/schema.js';
import type { Metadata } from '../db/schema.js';

export const METADATA_MAX_KEYS = 20;
export const METADATA_MAX_BYTES = 2048;
export const METADATA_KEY_PATTERN = /^[A-Za-z0-9_.:-]{1,64}$/;
export const METADATA_MAX_STRING = 500;

export function metadataSize(metadata: Metadata): number {
  return Buffer.byteLength(JSON.stringify(metadata), 'utf8');
}

/** The same object whatever order its keys came in (for idempotency fingerprints). */
export function canonicalMetadata(metadata: Metadata): Array<[string, string | number | boolean]> {
  return Object.entries(metadata).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}
