import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * Link tokens (security.md 1–3): 256 bits from the CSPRNG, base64url. Only a hash is kept,
 * and the hash is domain-separated by purpose, so an invitation token can never be replayed
 * as a password-reset token or the other way round, even if someone copied a hash around.
 */
export type TokenPurpose = 'invitation' | 'password_reset';

export function newToken(): string {
  return randomBytes(32).toString('base64url');
}

export function hashToken(purpose: TokenPurpose, token: string): string {
  return createHash('sha256').update(`${purpose}\0${token}`).digest('base64url');
}

/** Tokens are 43 base64url characters; anything else can be refused without a lookup. */
export function looksLikeToken(token: string): boolean {
  return /^[A-Za-z0-9_-]{43}$/.test(token);
}

/**
 * The row was found through an index on the hash; comparing again in constant time keeps
 * the check independent of how the index or the driver compares strings.
 */
export function sameHash(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}
