import type { Database } from '../db/database.js';
import { sealedValuesUnopenable } from '../metrics.js';
import { SECRET_BOX_SETTING, type SecretBox } from './secret-box.js';

/**
 * Opens a stored sealed value, or says why not: a value no listed key opens is counted
 * (sealed_values_unopenable_total) and described, for the row that holds it to show.
 */
export function openOrDescribe(secretBox: SecretBox, sealed: string, what: 'email_link' | 'webhook_secret'): { value: string } | { error: string } {
  try {
    return { value: secretBox.open(sealed) };
  } catch (error) {
    sealedValuesUnopenable.inc({ what });
    return { error: `cannot open the sealed ${what === 'email_link' ? 'link' : 'endpoint secret'}: ${(error as Error).message}; check ${SECRET_BOX_SETTING}` };
  }
}

/** Raised at start when the keys cannot open what the database holds; its message is one line for the operator. */
export class KeyCheckError extends Error {
  override readonly name = 'KeyCheckError';
}

/**
 * Start check (security.md 26a). A process whose EMAIL_ENCRYPTION_KEY cannot open the newest
 * sealed link and the newest webhook secret must not start: it could not send those mails, and
 * once a process seals with a new key, every process without that key is refused here.
 * Its sealing key must also be known (email_encryption_keys): listed after the sealing key by
 * some process before (rotation step 1), or the key that sealed the newest values, or the
 * first key of an empty database. So a mistyped first key never seals anything.
 */
export async function checkSecretBoxKeys(db: Database, secretBox: SecretBox): Promise<void> {
  const newestLink = await db.selectFrom('emails').select('link_ciphertext').where('link_ciphertext', 'is not', null).orderBy('created_at', 'desc').limit(1).executeTakeFirst();
  const newestSecret = await db.selectFrom('webhook_endpoints').select('secret_ciphertext').orderBy('created_at', 'desc').limit(1).executeTakeFirst();
  const samples = [
    { what: 'the newest logged link', sealed: newestLink?.link_ciphertext },
    { what: 'the newest webhook secret', sealed: newestSecret?.secret_ciphertext },
  ];
  const sealers = new Set<string>();
  for (const { what, sealed } of samples) {
    if (!sealed) continue;
    try {
      sealers.add(secretBox.openNamingKey(sealed).keyId);
    } catch (error) {
      throw new KeyCheckError(`${SECRET_BOX_SETTING} does not open ${what} in the database (${(error as Error).message}); set it to the key list the other processes use (the first key seals, all open)`);
    }
  }
  const [sealing, ...opening] = secretBox.keyIds as [string, ...string[]];
  const known = [...opening, ...sealers, ...(sealers.size === 0 ? [sealing] : [])];
  await db.insertInto('email_encryption_keys').values(known.map((key_id) => ({ key_id }))).onConflict((c) => c.column('key_id').doNothing()).execute();
  const listed = await db.selectFrom('email_encryption_keys').select('key_id').where('key_id', '=', sealing).executeTakeFirst();
  if (!listed) {
    throw new KeyCheckError(
      `${SECRET_BOX_SETTING}: its first key (id ${sealing}) would seal, but no process has listed it yet; to rotate, list it after the current key on every process first, then put it first`,
    );
  }
}
