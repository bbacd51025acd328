import { createHash } from 'node:crypto';
import { DomainError } from '../errors.js';
import { canonicalMetadata, type Metadata } from '../users/metadata.js';

/**
 * `Idempotency-Key` on POST /api/v1/invitations. The ids of the user and its invitation are
 * derived from the caller and the key, so a retry names the same workflow id: Temporal's
 * workflow-id uniqueness, not a second table, makes the retry land on the first invitation,
 * even while the first request is still in flight.
 */
export interface IdempotentInvite {
  /** Who is asking (a digest of the caller's key): the same key from another caller is another request. */
  principal: string;
  key: string;
}

const KEY = /^[\x21-\x7e]{1,255}$/;

export function checkIdempotencyKey(key: string): string {
  if (!KEY.test(key)) {
    throw new DomainError('ValidationFailed', 'The Idempotency-Key header must be 1–255 printable ASCII characters.', {
      errors: [{ field: 'header/Idempotency-Key', message: 'must be 1–255 printable ASCII characters without spaces' }],
    });
  }
  return key;
}

export function idempotentIds({ principal, key }: IdempotentInvite): { userId: string; invitationId: string } {
  return { userId: derivedUuid(`${principal}\0${key}\0user`), invitationId: derivedUuid(`${principal}\0${key}\0invitation`) };
}

/** A UUID (version 8, "custom") from a SHA-256 digest: stable for the same input. */
export function derivedUuid(input: string): string {
  const bytes = createHash('sha256').update(input).digest().subarray(0, 16);
  bytes[6] = (bytes[6]! & 0x0f) | 0x80;
  bytes[8] = (bytes[8]! & 0x3f) | 0x80;
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** What makes two invitation requests the same request: the canonical forms of their fields. */
export function requestFingerprint(request: {
  usernameKey: string;
  emailKey: string;
  userType: string;
  isStaff: boolean;
  permissions: string[];
  locale: string;
  metadata?: Metadata;
  redirectUrl?: string;
}): string {
  const fields: unknown[] = [request.usernameKey, request.emailKey, request.userType, request.isStaff, [...new Set(request.permissions)].sort(), request.locale];
  // Only when given: fingerprints of requests stored before metadata existed stay the same.
  if (request.metadata && Object.keys(request.metadata).length) fields.push(canonicalMetadata(request.metadata));
  if (request.redirectUrl) fields.push(['redirectUrl', request.redirectUrl]);
  const canonical = JSON.stringify(fields);
  return createHash('sha256').update(canonical).digest('base64url');
}
