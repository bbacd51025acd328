import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { METADATA_ENCODING_KEY, ValueError, type DataConverter, type Payload, type PayloadCodec } from '@temporalio/common';
import proto from '@temporalio/proto';
import { parseKey } from '../mail/secret-box.js';

/**
 * Every payload our clients and workers hand to Temporal (workflow inputs, update and query
 * results, activity inputs and results, memos, summaries) is sealed with AES-256-GCM, so
 * Temporal's store and history holds no email address or username in plaintext. Search
 * attributes are not payloads of the data converter and stay readable: operators search by them.
 *
 * The whole payload (metadata and data) is sealed, as in Temporal's encryption samples, so the
 * JSON encoding of the value is hidden too; the key id stays in clear metadata so keys can
 * rotate: new payloads use the first (current) key, old ones open with whichever key sealed them.
 */
export const ENCRYPTED_ENCODING = 'binary/encrypted';
export const KEY_ID_METADATA = 'encryption-key-id';
export const PAYLOAD_KEYS_SETTING = 'TEMPORAL_PAYLOAD_KEYS';

const PayloadMessage = proto.temporal.api.common.v1.Payload;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const KEY_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

export interface PayloadKeyRing {
  /** Seals every new payload. */
  currentId: string;
  /** Every key that may still open a payload in some history, by id. */
  keys: ReadonlyMap<string, Buffer>;
}

/** `keyId:key,keyId:key,…` (key: 32 bytes as 64 hex digits or base64); the first one seals. */
export function parsePayloadKeys(spec: string): PayloadKeyRing {
  const keys = new Map<string, Buffer>();
  const entries = spec.split(',').map((entry) => entry.trim()).filter(Boolean);
  if (!entries.length) throw new Error(`${PAYLOAD_KEYS_SETTING} names no key (expected "keyId:key,…")`);
  for (const entry of entries) {
    const colon = entry.indexOf(':');
    const id = colon < 0 ? '' : entry.slice(0, colon);
    if (!KEY_ID.test(id)) {
      throw new Error(`${PAYLOAD_KEYS_SETTING}: each entry is "keyId:key" with a key id of letters, digits, ".", "_", "-" (got an entry starting "${entry.slice(0, 8)}…")`);
    }
    if (keys.has(id)) throw new Error(`${PAYLOAD_KEYS_SETTING} names key id "${id}" twice`);
    keys.set(id, parseKey(entry.slice(colon + 1), `${PAYLOAD_KEYS_SETTING} key "${id}"`));
  }
  return { currentId: entries[0]!.slice(0, entries[0]!.indexOf(':')), keys };
}

/** A payload sealed with a key id this process was not given: say which, and where keys come from. */
export class UnknownPayloadKeyError extends ValueError {
  constructor(
    readonly keyId: string,
    known: Iterable<string>,
  ) {
    super(
      `Temporal payload sealed with key id "${keyId}", which this process does not have (it knows: ${[...known].join(', ')}). ` +
        `Add that key to ${PAYLOAD_KEYS_SETTING}: every client, worker and codec endpoint of a namespace needs every key still found in its histories.`,
    );
  }
}

const bytes = (text: string) => new Uint8Array(Buffer.from(text, 'utf8'));
const text = (value: Uint8Array | null | undefined) => (value ? Buffer.from(value).toString('utf8') : undefined);
// The key id is bound to the ciphertext, so a payload relabelled with another id fails to open.
const associatedData = (keyId: string) => Buffer.from(`${ENCRYPTED_ENCODING};${keyId}`, 'utf8');

export class PayloadEncryptionCodec implements PayloadCodec {
  constructor(private readonly ring: PayloadKeyRing) {
    if (!ring.keys.has(ring.currentId)) throw new Error(`the current payload key "${ring.currentId}" is not among the keys`);
  }

  get currentKeyId(): string {
    return this.ring.currentId;
  }

  async encode(payloads: Payload[]): Promise<Payload[]> {
    const keyId = this.ring.currentId;
    const key = this.ring.keys.get(keyId)!;
    return payloads.map((payload) => {
      const iv = randomBytes(IV_BYTES);
      const cipher = createCipheriv('aes-256-gcm', key, iv);
      cipher.setAAD(associatedData(keyId));
      const plain = PayloadMessage.encode(payload).finish();
      const sealed = Buffer.concat([iv, cipher.update(plain), cipher.final(), cipher.getAuthTag()]);
      return {
        metadata: { [METADATA_ENCODING_KEY]: bytes(ENCRYPTED_ENCODING), [KEY_ID_METADATA]: bytes(keyId) },
        data: new Uint8Array(sealed),
      };
    });
  }

  async decode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((payload) => {
      // Payloads written before encryption was switched on stay readable.
      if (text(payload.metadata?.[METADATA_ENCODING_KEY]) !== ENCRYPTED_ENCODING) return payload;
      const keyId = text(payload.metadata?.[KEY_ID_METADATA]);
      if (!keyId) throw new ValueError(`An encrypted Temporal payload carries no "${KEY_ID_METADATA}"`);
      const key = this.ring.keys.get(keyId);
      if (!key) throw new UnknownPayloadKeyError(keyId, this.ring.keys.keys());
      const sealed = Buffer.from(payload.data ?? new Uint8Array());
      if (sealed.length < IV_BYTES + TAG_BYTES) throw new ValueError(`An encrypted Temporal payload (key "${keyId}") is truncated`);
      const decipher = createDecipheriv('aes-256-gcm', key, sealed.subarray(0, IV_BYTES));
      decipher.setAAD(associatedData(keyId));
      decipher.setAuthTag(sealed.subarray(sealed.length - TAG_BYTES));
      let plain: Buffer;
      try {
        plain = Buffer.concat([decipher.update(sealed.subarray(IV_BYTES, sealed.length - TAG_BYTES)), decipher.final()]);
      } catch {
        throw new ValueError(`An encrypted Temporal payload does not open with key "${keyId}": the key under that id differs from the one that sealed it, or the payload was altered`);
      }
      return PayloadMessage.decode(plain);
    });
  }
}

export const failureConverterPath = fileURLToPath(new URL('./failure-converter.cjs', import.meta.url));

/** The data converter of every client and worker of this service. */
export function dataConverterFor(codec: PayloadCodec): DataConverter {
  return { payloadCodecs: [codec], failureConverterPath };
}
