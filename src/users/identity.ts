import { domainToASCII } from 'node:url';
import unhomoglyph from 'unhomoglyph';

/**
 * Canonical forms decide uniqueness (spec: case-insensitive, after Unicode normalisation;
 * security.md 17–18). The stored display form keeps what staff typed (NFC only).
 */

// Invisible and bidi-control characters make two names look alike; reject, don't strip.
// Cc/Cf cover control, zero-width and bidi-control characters; the rest are fillers and
// joiners that render as nothing. Written as escapes on purpose, hence the lint exception.
// eslint-disable-next-line no-misleading-character-class
const INVISIBLE_OR_BIDI = /[\p{Cc}\p{Cf}\p{Co}\p{Cn}\u034f\u115f\u1160\u17b4\u17b5\u180b-\u180f\u3164\ufe00-\ufe0f\uffa0]/u;

export const USERNAME_MAX = 64;

export function usernameProblem(raw: string): string | undefined {
  const value = raw.normalize('NFC');
  if (value.length < 2) return 'must be at least 2 characters';
  if ([...value].length > USERNAME_MAX) return `must be at most ${USERNAME_MAX} characters`;
  if (INVISIBLE_OR_BIDI.test(value)) return 'must not contain control, invisible or bidi characters';
  if (!/^[\p{L}\p{M}\p{N}._+-]+$/u.test(value)) {
    // No "@": a login is a username or an email, and must never be both.
    return 'may contain letters, digits and . _ + - only';
  }
  return undefined;
}

export function canonicalUsername(raw: string): string {
  // NFKC folds compatibility forms (ﬁ → fi, full-width → ASCII). Upper- then lower-casing
  // approximates full case folding (ß → SS → ss), and NFKC again because case mapping can
  // denormalise (e.g. "İ").
  return raw.normalize('NFKC').toUpperCase().toLowerCase().normalize('NFKC');
}

/** A login is a username or an email (a username never contains "@"), in canonical form. */
export function canonicalLogin(raw: string): string {
  const email = canonicalEmail(raw);
  return email.ok ? email.value : canonicalUsername(raw.trim());
}

/**
 * UTS #39 skeleton of a canonical username: two names with the same skeleton look alike
 * ("alice" and a Cyrillic "аlice"), and only one of them may be live (a unique index). The
 * mapping is confusables.txt (unhomoglyph); the NFD on both sides is the standard's
 * definition. Default-ignorable characters, which the standard also drops, are already
 * refused by usernameProblem. Taken on the canonical form so it is case-insensitive too, and
 * lower-cased again after the mapping, which may answer in capitals ("0" → "O"): so "g00gle"
 * meets "google".
 */
export function skeletonOfUsernameKey(usernameKey: string): string {
  return unhomoglyph(usernameKey.normalize('NFD')).toLowerCase().normalize('NFD');
}

/** The stored forms of a username: as typed (NFC), canonical, and its skeleton. */
export function usernameColumns(raw: string): { username: string; username_key: string; username_skeleton: string } {
  const key = canonicalUsername(raw);
  return { username: raw.normalize('NFC'), username_key: key, username_skeleton: skeletonOfUsernameKey(key) };
}

export const EMAIL_MAX = 254;
export const EMAIL_LOCAL_MAX = 64;

/** Returns the canonical email (trimmed, lower-cased, IDNA domain) or a problem text. */
export function canonicalEmail(raw: string): { ok: true; value: string } | { ok: false; problem: string } {
  const value = raw.trim().normalize('NFC');
  if (/[\r\n\0]/.test(value)) return { ok: false, problem: 'must not contain line breaks or NUL' };
  if (INVISIBLE_OR_BIDI.test(value)) return { ok: false, problem: 'must not contain control or invisible characters' };
  const at = value.lastIndexOf('@');
  if (at <= 0 || at === value.length - 1) return { ok: false, problem: 'is not an email address' };
  const local = value.slice(0, at);
  const domain = value.slice(at + 1);
  if (Buffer.byteLength(local) > EMAIL_LOCAL_MAX) return { ok: false, problem: `local part longer than ${EMAIL_LOCAL_MAX} octets` };
  // Quoted local parts and comments are legal but never legitimately needed for invitations.
  if (!/^[\p{L}\p{N}!#$%&'*+/=?^_`{|}~.-]+$/u.test(local) || local.startsWith('.') || local.endsWith('.') || local.includes('..')) {
    return { ok: false, problem: 'has an invalid local part' };
  }
  const asciiDomain = domainToASCII(domain.toLowerCase());
  if (!asciiDomain || !/^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9-]{2,63}$/.test(asciiDomain)) {
    return { ok: false, problem: 'has an invalid domain' };
  }
  const canonical = `${local.toLowerCase()}@${asciiDomain}`;
  if (Buffer.byteLength(canonical) > EMAIL_MAX) return { ok: false, problem: `longer than ${EMAIL_MAX} octets` };
  return { ok: true, value: canonical };
}
