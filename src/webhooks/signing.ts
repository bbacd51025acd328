import { createHmac, randomBytes } from 'node:crypto';

/**
 * Standard Webhooks (https://www.standardwebhooks.com): the secret is `whsec_` + base64 of
 * 24–64 random bytes; each attempt carries `webhook-id`, `webhook-timestamp` (seconds) and
 * `webhook-signature: v1,<base64 HMAC-SHA256 of "id.timestamp.body">`, so any of that
 * spec's libraries verifies it. While a rotated-away secret still signs (its overlap), the header
 * carries one signature per secret, space-separated, newest first: a receiver accepts any
 * one it can verify.
 */
const SECRET_PREFIX = 'whsec_';

export function generateWebhookSecret(): string {
  return SECRET_PREFIX + randomBytes(32).toString('base64');
}

/** Why a secret the caller chose is not usable, or undefined. */
export function webhookSecretProblem(secret: string): string | undefined {
  if (!secret.startsWith(SECRET_PREFIX)) return 'must start with whsec_';
  const body = secret.slice(SECRET_PREFIX.length);
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(body) || body.length % 4 !== 0) return 'must be whsec_ followed by base64';
  const bytes = Buffer.from(body, 'base64').length;
  if (bytes < 24 || bytes > 64) return 'must encode 24 to 64 bytes';
  return undefined;
}

export function signWebhook(secret: string, id: string, timestampSeconds: number, body: string): string {
  const key = Buffer.from(secret.slice(SECRET_PREFIX.length), 'base64');
  return `v1,${createHmac('sha256', key).update(`${id}.${timestampSeconds}.${body}`).digest('base64')}`;
}

/**
 * The Standard Webhooks headers of one attempt: the event's id, this attempt's timestamp, and
 * one `v1,…` signature per secret, space-separated (newest first).
 */
export function signedHeaders(secrets: string[], id: string, body: string): Record<'webhook-id' | 'webhook-timestamp' | 'webhook-signature', string> {
  const timestamp = Math.floor(Date.now() / 1000);
  return {
    'webhook-id': id,
    'webhook-timestamp': String(timestamp),
    'webhook-signature': secrets.map((secret) => signWebhook(secret, id, timestamp, body)).join(' '),
  };
}
