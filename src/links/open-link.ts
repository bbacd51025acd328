import { hashToken, looksLikeToken, sameHash, type TokenPurpose } from './tokens.js';

/**
 * Opens a personal link: finds the row its token belongs to, for one purpose, without
 * consuming it (security.md 5). A malformed token is refused without a lookup; the found
 * hash is compared again in constant time. Whether the row is still usable (pending, not
 * expired, not revoked) is the caller's rule, and consuming it is a conditional update.
 */
export async function openLink<Row extends { token_hash: string | null }>(
  purpose: TokenPurpose,
  token: string,
  findByTokenHash: (tokenHash: string) => Promise<Row | undefined>,
): Promise<Row | undefined> {
  if (!looksLikeToken(token)) return undefined;
  const tokenHash = hashToken(purpose, token);
  const row = await findByTokenHash(tokenHash);
  if (!row?.token_hash || !sameHash(row.token_hash, tokenHash)) return undefined;
  return row;
}
