import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';

export const SECRET_BOX_SETTING = 'EMAIL_ENCRYPTION_KEY';

/**
 * AES-256-GCM for what an exact re-send needs (the personal link, R7) so that no usable
 * token lies in plaintext in the database (security.md 7). Format: v2.<keyId>.<iv>.<tag>.<data>,
 * where keyId names the sealing key, so that after a rotation the right key is picked and a
 * missing one is named. Values sealed before key ids (v1.<iv>.<tag>.<data>) still open with
 * whichever listed key fits.
 */
export interface SecretBox {
  seal(plaintext: string): string;
  open(sealed: string): string;
  /** Opens, and names the listed key that sealed the value. */
  openNamingKey(sealed: string): { value: string; keyId: string };
  /** The ids of the listed keys; the first seals. */
  readonly keyIds: readonly string[];
}

/** Raised when no listed key opens a value: the message names the key id and the setting. */
export class SecretBoxKeyError extends Error {
  override readonly name = 'SecretBoxKeyError';
}

export function parseKey(text: string, setting = SECRET_BOX_SETTING): Buffer {
  const trimmed = text.trim();
  const key = /^[0-9a-fA-F]{64}$/.test(trimmed) ? Buffer.from(trimmed, 'hex') : Buffer.from(trimmed, 'base64');
  if (key.length !== 32) throw new Error(`${setting} must be 32 bytes, as 64 hex digits or base64`);
  return key;
}

/** "key,key,…" (one key, today's format, is a list of one): the first seals, all open. */
export function parseKeys(text: string, setting = SECRET_BOX_SETTING): Buffer[] {
  const entries = text.split(',').map((entry) => entry.trim()).filter(Boolean);
  if (!entries.length) throw new Error(`${setting} names no key`);
  return entries.map((entry, i) => parseKey(entry, entries.length > 1 ? `${setting} (key ${i + 1})` : setting));
}

/** A short public name of a key: not the key, and the same in every process holding it. */
export function secretBoxKeyId(key: Buffer): string {
  return createHash('sha256').update('email-encryption-key-id').update(key).digest('base64url').slice(0, 8);
}

export function createSecretBox(keys: Buffer | Buffer[]): SecretBox {
  const list = Array.isArray(keys) ? keys : [keys];
  if (!list.length) throw new Error(`${SECRET_BOX_SETTING} names no key`);
  const byId = new Map(list.map((key) => [secretBoxKeyId(key), key]));
  const sealingKey = list[0]!;
  const sealingKeyId = secretBoxKeyId(sealingKey);
  const box: SecretBox = {
    keyIds: [...byId.keys()],
    seal(plaintext) {
      const iv = randomBytes(12);
      const cipher = createCipheriv('aes-256-gcm', sealingKey, iv);
      const data = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
      return ['v2', sealingKeyId, iv.toString('base64url'), cipher.getAuthTag().toString('base64url'), data.toString('base64url')].join('.');
    },
    open: (sealed) => box.openNamingKey(sealed).value,
    openNamingKey(sealed) {
      const parts = sealed.split('.');
      if (parts[0] === 'v2' && parts.length === 5) {
        const [, keyId, iv, tag, data] = parts as [string, string, string, string, string];
        const key = byId.get(keyId);
        if (!key) throw new SecretBoxKeyError(`sealed with key id "${keyId}", which ${SECRET_BOX_SETTING} does not list (it lists: ${[...byId.keys()].join(', ')})`);
        return { value: openWith(key, iv, tag, data), keyId };
      }
      if (parts[0] === 'v1' && parts.length === 4) {
        const [, iv, tag, data] = parts as [string, string, string, string];
        for (const [keyId, key] of byId) {
          try {
            return { value: openWith(key, iv, tag, data), keyId };
          } catch {
            // not this key; GCM's tag check tells
          }
        }
        throw new SecretBoxKeyError(`sealed (before key ids) with a key that no key of ${SECRET_BOX_SETTING} opens (it lists: ${[...byId.keys()].join(', ')})`);
      }
      throw new Error('unknown sealed format');
    },
  };
  return box;
}

function openWith(key: Buffer, iv: string, tag: string, data: string): string {
  const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64url'));
  decipher.setAuthTag(Buffer.from(tag, 'base64url'));
  return Buffer.concat([decipher.update(Buffer.from(data, 'base64url')), decipher.final()]).toString('utf8');
}
