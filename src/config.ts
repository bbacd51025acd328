import proxyAddr from 'proxy-addr';
import { z } from 'zod';
import { parseDuration } from './duration.js';
import { temporalTransportProblems } from './temporal/connection.js';
import { parsePayloadKeys } from './temporal/payload-codec.js';

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

/**
 * Which proxies in front of us to believe, as Express's `trust proxy`: a hop count (`1`, `2`:
 * the address that many proxies back along X-Forwarded-For) or a list of proxy addresses and
 * CIDRs (`loopback, 10.0.0.0/8`). `true` means one hop, never "believe the whole header":
 * its leftmost entries are written by the client. `false` (0 hops) ignores the header.
 */
export type ProxyTrust = { hops: number } | { proxies: readonly string[] };

const proxyTrust = z
  .string()
  .default('false')
  .transform((value, ctx): ProxyTrust => {
    const v = value.trim().toLowerCase();
    if (v === 'false' || v === '') return { hops: 0 };
    if (v === 'true') return { hops: 1 };
    if (/^\d+$/.test(v)) return { hops: Number(v) };
    const proxies = v.split(',').map((p) => p.trim()).filter(Boolean);
    try {
      proxyAddr.compile(proxies);
    } catch (error) {
      ctx.addIssue({ code: 'custom', message: `${(error as Error).message}: use true, false, a hop count or a list of proxy addresses/CIDRs` });
      return z.NEVER;
    }
    return { proxies };
  });

const port = z.coerce.number().int().min(0).max(65535);
const optionalUrl = z.preprocess((v) => (v === '' ? undefined : v), z.string().url().optional());

/** Encryption of Temporal payloads and the codec endpoint Temporal UI decodes them with. */
const temporalPayloadSettings = {
  /** `keyId:key,…` (32-byte keys, hex or base64); the first seals, all open. */
  TEMPORAL_PAYLOAD_KEYS: z.preprocess(
    (v) => (v === '' ? undefined : v),
    z
      .string()
      .optional()
      .superRefine((spec, ctx) => {
        if (spec === undefined) return;
        try {
          parsePayloadKeys(spec);
        } catch (error) {
          ctx.addIssue({ code: 'custom', message: (error as Error).message });
        }
      }),
  ),
  /** worker.ts serves its own metrics (GET /metrics) on this loopback port; unset: none. */
  WORKER_METRICS_PORT: z.preprocess((v) => (v === '' ? undefined : v), port.optional()),
  /** Unset: 8234 under `npm start`, no endpoint in the API process. */
  TEMPORAL_CODEC_PORT: z.preprocess((v) => (v === '' ? undefined : v), port.optional()),
  TEMPORAL_CODEC_HOST: z.string().default('127.0.0.1'),
  /** Origins of the Temporal UI allowed to call the codec endpoint (unset: the embedded UI's). */
  TEMPORAL_CODEC_CORS_ORIGINS: z.preprocess(
    (v) => (v === '' ? undefined : v),
    z
      .string()
      .optional()
      .transform((s) => s?.split(',').map((o) => o.trim().replace(/\/+$/, '')).filter(Boolean))
      .pipe(z.array(z.string().url()).min(1).optional()),
  ),
};

/** Comma-separated origins (scheme, host, port: no path) that invitations may send the invitee on to. */
const originList = z.preprocess(
  (v) => (v === '' ? undefined : v),
  z
    .string()
    .optional()
    .transform((value, ctx) => {
      const origins: string[] = [];
      for (const entry of (value ?? '').split(',').map((o) => o.trim()).filter(Boolean)) {
        let url: URL | undefined;
        try {
          url = new URL(entry);
        } catch {
          // reported below
        }
        if (!url || (url.protocol !== 'https:' && url.protocol !== 'http:') || url.origin !== entry.replace(/\/+$/, '')) {
          ctx.addIssue({ code: 'custom', message: `not an http(s) origin such as https://app.example.com: "${entry}"` });
          continue;
        }
        origins.push(url.origin);
      }
      return origins;
    }),
);

const optionalText = z.preprocess((v) => (v === '' ? undefined : v), z.string().optional());

/** A real cluster or Temporal Cloud: TLS, client certificate, API key (src/temporal/connection.ts). */
const temporalTransportSettings = {
  TEMPORAL_TLS: z.preprocess((v) => (v === '' ? undefined : typeof v === 'string' ? v.toLowerCase() : v), z.enum(['true', 'false']).optional()),
  TEMPORAL_TLS_CERT_PATH: optionalText,
  TEMPORAL_TLS_CERT_DATA: optionalText,
  TEMPORAL_TLS_KEY_PATH: optionalText,
  TEMPORAL_TLS_KEY_DATA: optionalText,
  TEMPORAL_TLS_CA_PATH: optionalText,
  TEMPORAL_TLS_CA_DATA: optionalText,
  TEMPORAL_TLS_SERVER_NAME: optionalText,
  TEMPORAL_API_KEY: optionalText,
};

/**
 * How long a stopping process lets work in flight finish. The worker: running activities
 * (a mail mid-SMTP), then they are cancelled and retried by another worker. The API: requests
 * already received, then their connections are cut. Both below Kubernetes' default 30 s.
 */
const shutdownSettings = {
  WORKER_SHUTDOWN_GRACE_TIME: duration('20 seconds'),
  API_SHUTDOWN_GRACE_TIME: duration('15 seconds'),
};

const count = (fallback: number) => z.coerce.number().int().min(1).default(fallback);

/**
 * The worker's knobs (docs/benchmarks.md measures them). Every invitation is a workflow that
 * waits weeks, so the sticky cache would otherwise grow with the number of pending
 * invitations (the SDK sizes it from the heap, ~0.3 MiB each); an evicted workflow costs a
 * replay of its short history when its timer or signal arrives, nothing else.
 */
const workerTuning = {
  WORKER_MAX_CACHED_WORKFLOWS: z.coerce.number().int().min(0).default(150),
  WORKER_MAX_CONCURRENT_WORKFLOW_TASKS: count(40),
  WORKER_MAX_CONCURRENT_ACTIVITIES: count(100),
  WORKER_MAX_CONCURRENT_LOCAL_ACTIVITIES: count(100),
  /** How long a task waits for the worker that has its workflow cached before any worker may take it: the lag after a worker dies. */
  WORKER_STICKY_QUEUE_TIMEOUT: duration('5s'),
  /**
   * A workflow bundle built ahead (`npm run build:workflows`); unset: worker.ts bundles the
   * workflow code with webpack at start, which costs time and memory the process keeps.
   */
  WORKER_WORKFLOW_BUNDLE: z.preprocess((v) => (v === '' ? undefined : v), z.string().optional()),
};

const schema = z.object({
  PORT: port.default(3000),
  HOST: z.string().default('127.0.0.1'),
  PUBLIC_BASE_URL: optionalUrl,
  DATABASE_URL: optionalUrl,
  TEMPORAL_ADDRESS: z.preprocess((v) => (v === '' ? undefined : v), z.string().optional()),
  TEMPORAL_NAMESPACE: z.string().min(1).default('default'),
  TEMPORAL_TASK_QUEUE: z.string().min(1).default('invitations'),
  ...temporalPayloadSettings,
  ...temporalTransportSettings,
  ...shutdownSettings,
  SMTP_URL: optionalUrl,
  MAIL_FROM: z.string().min(3).default('Invitations <no-reply@invitations.localhost>'),
  ADMIN_API_KEY: z.preprocess((v) => (v === '' ? undefined : v), z.string().min(16).optional()),
  INVITATION_TTL: duration('28 days'),
  /** null: no reminder. Longer than INVITATION_TTL also means none (there is no "before"). */
  INVITATION_REMINDER: reminderOffset,
  /**
   * How often the reconciler looks for pending invitations whose workflow is gone (terminated
   * or cancelled in Temporal UI, or lost), and restarts them; a restarted one past its
   * deadline expires at once.
   */
  INVITATION_RECONCILE_INTERVAL: duration('5 minutes'),
  PASSWORD_RESET_TTL: duration('2 hours'),
  /**
   * How long one SMTP attempt may wait: for the TCP connection, for the server's greeting,
   * and for any answer once talking. A server that hangs fails the attempt after these, and
   * Temporal retries it. Together at most 90 s: the mail activity's startToClose is 2 minutes.
   */
  SMTP_CONNECTION_TIMEOUT: duration('10s'),
  SMTP_GREETING_TIMEOUT: duration('10s'),
  SMTP_SOCKET_TIMEOUT: duration('30s'),
  PLATFORM_TIMEZONE: timeZone,
  USER_TYPES: z
    .string()
    .default('member,organization_contact')
    .transform((s) => s.split(',').map((t) => t.trim()).filter(Boolean))
    .pipe(z.array(z.string().regex(/^[a-z][a-z0-9_]{0,63}$/)).min(1)),
  /** 32 bytes, base64 or hex: encrypts what an exact re-send needs (security.md 7). */
  EMAIL_ENCRYPTION_KEY: z.preprocess((v) => (v === '' ? undefined : v), z.string().optional()),
  PRODUCT_NAME: z.string().default('Platform'),
  /**
   * Origins an invitation's `redirectUrl` may point to: the accept page offers it as the next
   * step once the password is set. Unset: only ACCEPT_REDIRECT_URL's origin, if that is set.
   */
  ACCEPT_REDIRECT_ORIGINS: originList,
  /** The next step for invitations without a `redirectUrl` (e.g. the platform's sign-in page); unset: none. */
  ACCEPT_REDIRECT_URL: z.preprocess((v) => (v === '' ? undefined : v), z.string().url().regex(/^https?:\/\//, 'must be an http or https URL').optional()),
  /**
   * The language of an invitation sent without `locale` (its mails and pages), of a bulk row
   * without one, of the template endpoints without `?locale`, and of a link page opened with
   * neither `?lang` nor a usable Accept-Language. Default `de`.
   */
  DEFAULT_LOCALE: z.enum(['de', 'en']).default('de'),
  DATA_DIR: z.string().default('.data'),
  /** Public endpoints: requests per minute per client address. */
  RATE_LIMIT_PER_MINUTE: z.coerce.number().int().min(1).default(60),
  /** Failed logins per account and client address in 15 minutes (successes don't count). */
  LOGIN_FAILURES_PER_15_MIN: z.coerce.number().int().min(1).default(10),
  /** Failed logins per account across all clients in an hour (NIST's ~100). */
  LOGIN_FAILURES_PER_ACCOUNT_PER_HOUR: z.coerce.number().int().min(1).default(100),
  /** Reset mails per address per hour; beyond it the answer stays 202 but no mail goes out. */
  RESET_MAILS_PER_HOUR: z.coerce.number().int().min(1).default(5),
  /** Invitations one API process handles at once; beyond, an immediate 503 (src/api/admission.ts). */
  INVITE_MAX_IN_FLIGHT: z.coerce.number().int().min(1).default(32),
  /**
   * Bulk invitations start at most this many invitations (and so invitation mails) a second.
   * 5 stays below what common relays take without throttling or greylisting a sender (Amazon
   * SES starts accounts at 14/s, Google's SMTP relay and many hosted servers at far less):
   * 1,000 rows go out in under 4 minutes. Fractions are allowed (0.5 = one every 2 s).
   */
  BULK_INVITES_PER_SECOND: z.coerce.number().positive().max(1000).default(5),
  /** Which proxies' X-Forwarded-For entries to believe (see ProxyTrust). */
  TRUST_PROXY: proxyTrust,
  // Only for `npm start`'s embedded services:
  TEMPORAL_DEV_PORT: port.default(7233),
  TEMPORAL_UI_PORT: port.default(8233),
  MAILCATCHER_SMTP_PORT: port.default(1025),
  MAILCATCHER_HTTP_PORT: port.default(1080),
  /** Webhooks (README, "Webhooks"): private targets, retries, disabling, pick-up of new events. */
  WEBHOOK_ALLOW_PRIVATE: z.enum(['true', 'false']).default('false').transform((v) => v === 'true'),
  WEBHOOK_RETRY_INITIAL_INTERVAL: duration('30s'),
  WEBHOOK_RETRY_MAX_INTERVAL: duration('1 hour'),
  /** A delivery is retried this long; an endpoint failing every attempt this long is disabled. */
  WEBHOOK_RETRY_WINDOW: duration('3 days'),
  /** The dispatcher's durable timer: how soon a committed event is handed to its delivery workflow. */
  WEBHOOK_DISPATCH_INTERVAL: duration('2s'),
  WEBHOOK_TIMEOUT: duration('10s'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  ...workerTuning,
});

/** Every variable the schema reads: `.env.example` lists each one (test/start-checks.test.ts). */
export const CONFIG_VARIABLES: readonly string[] = Object.keys(schema.shape);

/** Below the mail activities' startToCloseTimeout (2 minutes, src/workflows/mail-step.ts). */
const MAX_SMTP_ATTEMPT_MS = 90_000;
/** Below the webhook delivery activity's startToCloseTimeout (1 minute, src/workflows/webhook-delivery.ts). */
const MAX_WEBHOOK_ATTEMPT_MS = 50_000;

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
  if (c.SMTP_CONNECTION_TIMEOUT + c.SMTP_GREETING_TIMEOUT + c.SMTP_SOCKET_TIMEOUT > MAX_SMTP_ATTEMPT_MS) {
    throw new ConfigError([`SMTP_CONNECTION_TIMEOUT + SMTP_GREETING_TIMEOUT + SMTP_SOCKET_TIMEOUT: at most ${MAX_SMTP_ATTEMPT_MS / 1000} s together, so an attempt ends before its activity times out`]);
  }
  if (c.WEBHOOK_TIMEOUT > MAX_WEBHOOK_ATTEMPT_MS) {
    throw new ConfigError([`WEBHOOK_TIMEOUT: at most ${MAX_WEBHOOK_ATTEMPT_MS / 1000} s, so an attempt ends before its activity times out (1 minute)`]);
  }
  const transportProblems = temporalTransportProblems(c);
  if (transportProblems.length) throw new ConfigError(transportProblems);
  const publicBaseUrl = (c.PUBLIC_BASE_URL ?? `http://localhost:${c.PORT}`).replace(/\/+$/, '');
  return Object.freeze({ ...c, PUBLIC_BASE_URL: publicBaseUrl });
}
