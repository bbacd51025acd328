import { z } from 'zod';
import { parseDuration } from './duration.js';

/**
 * One validated, frozen configuration shared by the API and the worker. Names are the ones
 * the platform relies on (its API contract); the rest are ours and documented in README.
 * It fails fast and lists every bad variable at once.
 */
const duration = (fallback: string) =>
  z
    .string()
    .default(fallback)
    .transform((value, ctx) => {
      const ms = parseDuration(value);
      if (ms === undefined || ms <= 0) {
        ctx.addIssue({ code: 'custom', message: `not a positive duration: "${value}" (e.g. "28 days", "15s")` });
        return z.NEVER;
      }
      return ms;
    });

/** A duration, or `off`: how long before the invitation lapses its reminder goes out. */
const reminderOffset = z
  .string()
  .default('3 days')
  .transform((value, ctx) => {
    if (value.trim().toLowerCase() === 'off') return null;
    const ms = parseDuration(value);
    if (ms === undefined || ms <= 0) {
      ctx.addIssue({ code: 'custom', message: `not a positive duration or "off": "${value}" (e.g. "3 days")` });
      return z.NEVER;
    }
    return ms;
  });

const timeZone = z
  .string()
  .default('Europe/Berlin')
  .refine((tz) => {
    try {
      new Intl.DateTimeFormat('en', { timeZone: tz });
      return true;
    } catch {
      return false;
    }
  }, 'not an IANA time zone');

const port = z.coerce.number().int().min(0).max(65535);
const optionalUrl = z.preprocess((v) => (v === '' ? undefined : v), z.string().url().optional());

const schema = z.object({
  PORT: port.default(3000),
  HOST: z.string().default('127.0.0.1'),
  PUBLIC_BASE_URL: optionalUrl,
  DATABASE_URL: optionalUrl,
  TEMPORAL_ADDRESS: z.preprocess((v) => (v === '' ? undefined : v), z.string().optional()),
  TEMPORAL_NAMESPACE: z.string().min(1).default('default'),
  TEMPORAL_TASK_QUEUE: z.string().min(1).default('invitations'),
  SMTP_URL: optionalUrl,
  MAIL_FROM: z.string().min(3).default('Invitations <no-reply@invitations.localhost>'),
  ADMIN_API_KEY: z.preprocess((v) => (v === '' ? undefined : v), z.string().min(16).optional()),
  INVITATION_TTL: duration('28 days'),
  /** null: no reminder. Longer than INVITATION_TTL also means none (there is no "before"). */
  INVITATION_REMINDER: reminderOffset,
  PASSWORD_RESET_TTL: duration('2 hours'),
  PLATFORM_TIMEZONE: timeZone,
  USER_TYPES: z
    .string()
    .default('member,organization_contact')
    .transform((s) => s.split(',').map((t) => t.trim()).filter(Boolean))
    .pipe(z.array(z.string().regex(/^[a-z][a-z0-9_]{0,63}$/)).min(1)),
  /** 32 bytes, base64 or hex: encrypts what an exact re-send needs (security.md 7). */
  EMAIL_ENCRYPTION_KEY: z.preprocess((v) => (v === '' ? undefined : v), z.string().optional()),
  PRODUCT_NAME: z.string().default('Platform'),
  DATA_DIR: z.string().default('.data'),
  /** Public endpoints: requests per minute per client address. */
  RATE_LIMIT_PER_MINUTE: z.coerce.number().int().min(1).default(60),
  /** Failed logins per account and client address in 15 minutes (successes don't count). */
  LOGIN_FAILURES_PER_15_MIN: z.coerce.number().int().min(1).default(10),
  /** Failed logins per account across all clients in an hour (NIST's ~100). */
  LOGIN_FAILURES_PER_ACCOUNT_PER_HOUR: z.coerce.number().int().min(1).default(100),
  /** Reset mails per address per hour; beyond it the answer stays 202 but no mail goes out. */
  RESET_MAILS_PER_HOUR: z.coerce.number().int().min(1).default(5),
  /** Take the client address from X-Forwarded-For (only behind a proxy that sets it). */
  TRUST_PROXY: z.enum(['true', 'false']).default('false').transform((v) => v === 'true'),
  // Only for `npm start`'s embedded services:
  TEMPORAL_DEV_PORT: port.default(7233),
  TEMPORAL_UI_PORT: port.default(8233),
  MAILCATCHER_SMTP_PORT: port.default(1025),
  MAILCATCHER_HTTP_PORT: port.default(1080),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
});

export type Config = Readonly<
  Omit<z.output<typeof schema>, 'PUBLIC_BASE_URL'> & { PUBLIC_BASE_URL: string }
>;

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const parsed = schema.safeParse(env);
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`));
  }
  const c = parsed.data;
  const publicBaseUrl = (c.PUBLIC_BASE_URL ?? `http://localhost:${c.PORT}`).replace(/\/+$/, '');
  return Object.freeze({ ...c, PUBLIC_BASE_URL: publicBaseUrl });
}
