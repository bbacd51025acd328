import proxyAddr from 'proxy-addr';
import { z } from 'zod';
import { parseDuration } from './duration.js';
import { temporalTransportProblems } from './temporal/connection.js';
import { parsePayloadKeys } from './temporal/payload-codec.js';

/** `https://x/` is `https://x`. A loop: `/\/+$/` is quadratic on many slashes followed by anything else. */
function withoutTrailingSlashes(text: string): string {
  let end = text.length;
  while (end > 0 && text[end - 1] === '/') end--;
  return text.slice(0, end);
}

/**
 * One validated, frozen configuration shared by the API and the worker. Names are the ones
 * the platform relies on (its API contract, tagged @contract); the rest are ours. The JSDoc
 * above each key is its documentation: `npm run docs:config` turns it into
 * docs/configuration.md (see scripts/config-docs.ts for the tags). It fails fast and lists
 * every bad variable at once.
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

/** `a.example, B.example` → `['a.example', 'b.example']` (IDNA): host names only, no scheme, port or path. */
const hostList = z
  .string()
  .default('')
  .transform((value, ctx) =>
    value
      .split(',')
      .map((entry) => entry.trim())
      .filter(Boolean)
      .map((entry) => {
        let url: URL | undefined;
        try {
          url = new URL(`http://${entry}`);
        } catch {
          // reported below
        }
        if (!url || url.host !== url.hostname || url.pathname !== '/' || url.username || url.search || url.hash || /[/?#@\\]/.test(entry)) {
          ctx.addIssue({ code: 'custom', message: `"${entry}" is not a host name (a list of names like "help.example.com", no scheme, port or path)` });
          return '';
        }
        return url.hostname;
      }),
  );
const optionalUrl = z.preprocess((v) => (v === '' ? undefined : v), z.string().url().optional());

/** Encryption of Temporal payloads and the codec endpoint Temporal UI decodes them with. */
const temporalPayloadSettings = {
  /**
   * `keyId:key,keyId:key,…` (32-byte keys, hex or base64): the first encrypts every Temporal
   * payload, all of them decrypt, chosen by the key id in each payload's metadata. Every process
   * of a namespace must share it ([operations: keys and rotation](operations.md#keys-and-their-rotation)).
   * @unset `npm start` creates one key once in `DATA_DIR/temporal-payload.keys`
   * @required with `TEMPORAL_ADDRESS`
   * @readBy api worker start
   */
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
  /**
   * `worker.ts` serves `GET /metrics` (its steps' counters, Node's) on this loopback port.
   * @unset no metrics endpoint in the worker process (under `npm start` the API's `/metrics` has them)
   * @readBy worker
   */
  WORKER_METRICS_PORT: z.preprocess((v) => (v === '' ? undefined : v), port.optional()),
  /**
   * Port of the codec endpoint through which Temporal UI shows the encrypted payloads
   * ([operations: the codec endpoint](operations.md#the-codec-endpoint)).
   * @unset `8234` under `npm start`; no endpoint in the API process (`start:api`)
   * @readBy api start
   */
  TEMPORAL_CODEC_PORT: z.preprocess((v) => (v === '' ? undefined : v), port.optional()),
  /**
   * Bind address of the codec endpoint; it answers without authentication, so keep it where only operators reach it.
   * @readBy api start
   */
  TEMPORAL_CODEC_HOST: z.string().default('127.0.0.1'),
  /**
   * Origins of the Temporal UI allowed to call the codec endpoint (comma-separated).
   * @unset the embedded UI's: `http://localhost:$TEMPORAL_UI_PORT,http://127.0.0.1:$TEMPORAL_UI_PORT`
   * @readBy api start
   */
  TEMPORAL_CODEC_CORS_ORIGINS: z.preprocess(
    (v) => (v === '' ? undefined : v),
    z
      .string()
      .optional()
      .transform((s) => s?.split(',').map((o) => withoutTrailingSlashes(o.trim())).filter(Boolean))
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
        if (!url || (url.protocol !== 'https:' && url.protocol !== 'http:') || url.origin !== withoutTrailingSlashes(entry)) {
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
  /**
   * `true`: TLS without any of the settings below (a server with a public certificate); `false` with
   * an API key: plaintext to a local proxy that terminates TLS.
   * @unset TLS when a certificate, CA or API key is set, plaintext otherwise
   * @readBy api worker start
   */
  TEMPORAL_TLS: z.preprocess((v) => (v === '' ? undefined : typeof v === 'string' ? v.toLowerCase() : v), z.enum(['true', 'false']).optional()),
  /**
   * The client certificate (PEM file) for mTLS, with `TEMPORAL_TLS_KEY_PATH`.
   * @required with `TEMPORAL_TLS_KEY_PATH` (a pair); never together with `TEMPORAL_TLS_CERT_DATA`
   * @readBy api worker start
   */
  TEMPORAL_TLS_CERT_PATH: optionalText,
  /**
   * The client certificate as PEM text (the Temporal CLI's name); `\n` escapes are read as line breaks.
   * @required with `TEMPORAL_TLS_KEY_DATA` (a pair); never together with `TEMPORAL_TLS_CERT_PATH`
   * @readBy api worker start
   */
  TEMPORAL_TLS_CERT_DATA: optionalText,
  /**
   * The private key (PEM file) of the client certificate; it must belong to the certificate.
   * @required with `TEMPORAL_TLS_CERT_PATH`
   * @readBy api worker start
   */
  TEMPORAL_TLS_KEY_PATH: optionalText,
  /**
   * The private key of the client certificate as PEM text; `\n` escapes are read as line breaks.
   * @required with `TEMPORAL_TLS_CERT_DATA`
   * @readBy api worker start
   */
  TEMPORAL_TLS_KEY_DATA: optionalText,
  /**
   * The CA that signed the server's certificate (PEM file), when it is not a public one.
   * @readBy api worker start
   */
  TEMPORAL_TLS_CA_PATH: optionalText,
  /**
   * The same CA as PEM text; never together with `TEMPORAL_TLS_CA_PATH`.
   * @readBy api worker start
   */
  TEMPORAL_TLS_CA_DATA: optionalText,
  /**
   * The name to check the server's certificate against, when it differs from the address's host.
   * @readBy api worker start
   */
  TEMPORAL_TLS_SERVER_NAME: optionalText,
  /**
   * Temporal Cloud API key, sent as `Authorization: Bearer …`; implies TLS. All `TEMPORAL_TLS*` and
   * `TEMPORAL_API_KEY` settings need `TEMPORAL_ADDRESS` (the embedded dev server has no TLS) and
   * are checked at start, every problem listed at once.
   * @readBy api worker start
   */
  TEMPORAL_API_KEY: optionalText,
};

/**
 * How long a stopping process lets work in flight finish. The worker: running activities
 * (a mail mid-SMTP), then they are cancelled and retried by another worker. The API: requests
 * already received, then their connections are cut. Both below Kubernetes' default 30 s.
 */
const shutdownSettings = {
  /**
   * How long a stopping worker lets running activities (a mail mid-SMTP) finish; then they
   * are given up and retried by another worker at once ([operations: shutdown](operations.md#graceful-shutdown)).
   * @readBy worker start
   */
  WORKER_SHUTDOWN_GRACE_TIME: duration('20 seconds'),
  /**
   * How long a stopping API answers the requests it already has; then their connections are cut.
   * @readBy api start
   */
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
  /**
   * Workflows a worker keeps in memory between their tasks (about 0.2 MiB each). Every
   * invitation waits weeks, so without a bound the cache grows with the pending invitations; an
   * evicted workflow only costs a replay of its short history when its timer or signal comes
   * (about 25 ms of worker CPU). 150 keeps a loaded worker under 350 MB; a worker with memory to
   * spare that must expire large batches at once can hold them all ([benchmarks](benchmarks.md#memory), P3 and P4).
   * @readBy worker start
   */
  WORKER_MAX_CACHED_WORKFLOWS: z.coerce.number().int().min(0).default(150),
  /**
   * Workflow tasks one worker runs at once.
   * @readBy worker start
   */
  WORKER_MAX_CONCURRENT_WORKFLOW_TASKS: count(40),
  /**
   * Activities one worker runs at once besides mail and webhooks (the dispatcher's database
   * steps, resets, reactivations, bulk); those two have their own slots below.
   * @readBy worker start
   */
  WORKER_MAX_CONCURRENT_ACTIVITIES: count(100),
  /**
   * Database steps one worker runs at once; keep them within the Postgres pool's reach.
   * @readBy worker start
   */
  WORKER_MAX_CONCURRENT_LOCAL_ACTIVITIES: count(100),
  /**
   * SMTP attempts (invitation, reminder, reset, resend) one worker runs at once, on their own
   * task queue `<TEMPORAL_TASK_QUEUE>-mail`: a hanging mail server holds these slots only, not
   * the ones webhooks and database steps need (issue 19.4).
   * @readBy worker start
   */
  WORKER_MAX_CONCURRENT_MAIL_ACTIVITIES: count(20),
  /**
   * Webhook delivery attempts one worker runs at once, on `<TEMPORAL_TASK_QUEUE>-webhooks`: a
   * slow receiver holds these slots only.
   * @readBy worker start
   */
  WORKER_MAX_CONCURRENT_WEBHOOK_ACTIVITIES: count(20),
  /**
   * How long a task waits for the worker that has its workflow cached before any worker may take it: the lag after a worker dies.
   * @readBy worker start
   */
  WORKER_STICKY_QUEUE_TIMEOUT: duration('5s'),
  /**
   * A workflow bundle built ahead (`npm run build:workflows`). The worker loads it instead of
   * bundling the workflow code with webpack at start, which saves about 100 MiB of RSS and most
   * of its start-up time ([benchmarks](benchmarks.md#memory)). Rebuild it with every deploy: an old
   * bundle runs old workflow code.
   * @unset `dist/workflows.js` under `npm run start:worker` (built just before); otherwise, or
   * empty, webpack bundles the workflows when the worker starts
   * @readBy worker
   */
  WORKER_WORKFLOW_BUNDLE: z.preprocess((v) => (v === '' ? undefined : v), z.string().optional()),
};

/**
 * The staff console (src/console, docs/console.md): how long a session lasts, who
 * may frame it, and where Temporal UI is for its links to a user's workflow.
 */
const consoleSettings = {
  /**
   * A staff console session ends this long after its last request.
   * @readBy api start
   */
  CONSOLE_SESSION_IDLE_TIMEOUT: duration('30 minutes'),
  /**
   * A staff console session ends this long after sign-in, however busy.
   * @readBy api start
   */
  CONSOLE_SESSION_MAX_AGE: duration('12 hours'),
  /**
   * CSP `frame-ancestors` of the console's pages: `'none'` (no framing), or the origins of the
   * platform's admin area that embeds it (space-separated, e.g. `https://admin.example.com`).
   * The session cookie is `SameSite=Strict`, so the embedding page must be on the same site
   * (e.g. `admin.example.com` embedding `invitations.example.com`).
   * @readBy api start
   */
  CONSOLE_FRAME_ANCESTORS: z
    .string()
    .default("'none'")
    .refine((v) => v.trim() !== '' && !/[;,\r\n]/.test(v), 'space-separated CSP sources, e.g. \'none\' or https://admin.example.com'),
  /**
   * Temporal UI's address, for the console's links from a user to their invitation workflow.
   * @unset `npm start` uses its embedded UI's; otherwise no link
   * @readBy api start
   */
  TEMPORAL_UI_URL: optionalUrl,
};

const schema = z.object({
  /**
   * HTTP port of the API.
   * @contract
   * @readBy api start
   */
  PORT: port.default(3000),
  /**
   * Bind address of the API.
   * @readBy api start
   */
  HOST: z.string().default('127.0.0.1'),
  /**
   * Base of the links in mails; never taken from a request's `Host`.
   * @unset `http://localhost:$PORT`
   * @contract
   * @readBy api worker start
   */
  PUBLIC_BASE_URL: optionalUrl,
  /**
   * Postgres connection string. Migrations run at start under Kysely's migration lock.
   * @unset `npm start` runs embedded Postgres (PGlite) under `DATA_DIR`
   * @required by `start:api` and `start:worker`
   * @contract
   * @readBy api worker start
   */
  DATABASE_URL: optionalUrl,
  /**
   * Temporal frontend (`host:port`), e.g. `acme.a2dd6.tmprl.cloud:7233`.
   * @unset `npm start` runs the embedded Temporal dev server (`TEMPORAL_DEV_PORT`)
   * @required by `start:api` and `start:worker`
   * @contract
   * @readBy api worker start
   */
  TEMPORAL_ADDRESS: z.preprocess((v) => (v === '' ? undefined : v), z.string().optional()),
  /**
   * Temporal namespace, e.g. `acme.a2dd6` on Temporal Cloud.
   * @contract
   * @readBy api worker start
   */
  TEMPORAL_NAMESPACE: z.string().min(1).default('default'),
  /**
   * Task queue of every workflow and activity; the API starts workflows on it, workers poll it.
   * Every worker also serves `<TEMPORAL_TASK_QUEUE>-mail` (SMTP attempts) and
   * `<TEMPORAL_TASK_QUEUE>-webhooks` (webhook deliveries), each with its own slots; watch all
   * three in Temporal UI.
   * @contract
   * @readBy api worker start
   */
  TEMPORAL_TASK_QUEUE: z.string().min(1).default('invitations'),
  ...temporalPayloadSettings,
  ...temporalTransportSettings,
  ...shutdownSettings,
  /**
   * Mail server, e.g. `smtp://host:2525`, `smtps://user:pass@host:465`.
   * @unset `npm start` runs a mail catcher (`MAILCATCHER_SMTP_PORT`) with an inbox
   * @required by `start:worker`
   * @contract
   * @readBy worker start
   */
  SMTP_URL: optionalUrl,
  /**
   * Sender of every mail.
   * @contract
   * @readBy worker start
   */
  MAIL_FROM: z.string().min(3).default('Invitations <no-reply@invitations.localhost>'),
  /**
   * The bootstrap admin key (at least 16 characters): every scope, and the only key that
   * manages named API keys ([integration: API keys](integration.md#api-keys-and-scopes)).
   * Never logged or printed.
   * @unset `npm start` (and a non-production API process) create one once in `DATA_DIR/admin-api.key`; an API process with `NODE_ENV=production` refuses to start
   * @contract
   * @readBy api start
   */
  ADMIN_API_KEY: z.preprocess((v) => (v === '' ? undefined : v), z.string().min(16).optional()),
  /**
   * `production` (the npm scripts' default): the API process (`npm run start:api`) needs `ADMIN_API_KEY`.
   * @unset not production
   * @readBy api
   */
  NODE_ENV: z.string().optional(),
  /**
   * The API's metrics (GET /metrics: request timings per route, counts of problems, logins,
   * keys minted, …) are served on this port of their own, never on the public `PORT`.
   * @unset no metrics endpoint
   * @readBy api start
   */
  METRICS_PORT: z.preprocess((v) => (v === '' ? undefined : v), port.optional()),
  /**
   * The metrics port's bind address: loopback unless a scraper on another host must reach it.
   * @readBy api start
   */
  METRICS_HOST: z.string().default('127.0.0.1'),
  /**
   * Lifetime of an invitation link (`28 days`, `15s`, `1 day 12 hours`). The 28 days are the
   * platform's explicit choice, longer than the 7 days NIST SP 800-63B suggests for enrollment codes.
   * @contract
   * @readBy api worker start
   */
  INVITATION_TTL: duration('28 days'),
  /**
   * How long before the deadline the one reminder goes out (a duration), or `off` for none. An
   * offset not shorter than `INVITATION_TTL` also means none (there is no "before").
   * @contract
   * @readBy api worker start
   */
  INVITATION_REMINDER: reminderOffset,
  /**
   * How often the reconciler looks for pending invitations whose workflow is gone (terminated
   * or cancelled in Temporal UI, or lost), and restarts them; a restarted one past its
   * deadline expires at once.
   * @contract
   * @readBy worker start
   */
  INVITATION_RECONCILE_INTERVAL: duration('5 minutes'),
  /**
   * Lifetime of a password reset link.
   * @readBy api worker start
   */
  PASSWORD_RESET_TTL: duration('2 hours'),
  /**
   * How long one SMTP attempt may wait: for the TCP connection, for the server's greeting,
   * and for any answer once talking. A server that hangs fails the attempt after these, and
   * Temporal retries it. Together at most 90 s: the mail activity's startToClose is 2 minutes.
   * @readBy worker start
   */
  SMTP_CONNECTION_TIMEOUT: duration('10s'),
  /**
   * See `SMTP_CONNECTION_TIMEOUT`: how long an attempt waits for the server's greeting.
   * @readBy worker start
   */
  SMTP_GREETING_TIMEOUT: duration('10s'),
  /**
   * See `SMTP_CONNECTION_TIMEOUT`: how long an attempt waits for any answer once talking.
   * @readBy worker start
   */
  SMTP_SOCKET_TIMEOUT: duration('30s'),
  /**
   * Where "midnight" is (R10), and the zone `{{expiresAt}}` is shown in mails; an IANA time zone.
   * @contract
   * @readBy api worker start
   */
  PLATFORM_TIMEZONE: timeZone,
  /**
   * The user types staff may choose (comma-separated; lower case, digits, `_`). The OpenAPI document is built from it.
   * @contract
   * @readBy api start
   */
  USER_TYPES: z
    .string()
    .default('member,organization_contact')
    .transform((s) => s.split(',').map((t) => t.trim()).filter(Boolean))
    .pipe(z.array(z.string().regex(/^[a-z][a-z0-9_]{0,63}$/)).min(1)),
  /**
   * `key,key,…` (32-byte keys, hex or base64; one key is a list of one): the first seals the
   * personal link kept for exact re-sends and webhook secrets, all of them open (security.md 7).
   * Every worker and API process that shares a database must share it; to rotate, see
   * [operations](operations.md#keys-and-their-rotation).
   * @unset `npm start` creates one once in `DATA_DIR/email-encryption.key`
   * @required with `DATABASE_URL`
   * @readBy api worker start
   */
  EMAIL_ENCRYPTION_KEY: z.preprocess((v) => (v === '' ? undefined : v), z.string().optional()),
  /**
   * The product named in mails (`{{productName}}`).
   * @readBy api worker start
   */
  PRODUCT_NAME: z.string().default('Platform'),
  /**
   * Hosts a mail template may link to besides `PUBLIC_BASE_URL`'s origin (comma-separated
   * names, any scheme and port; default none). Any other link in a template is refused (issue 15.6).
   * @readBy api start
   */
  TEMPLATE_LINK_HOSTS: hostList,
  /**
   * Origins an invitation's `redirectUrl` may point to: the accept page offers it as the next
   * step once the password is set.
   * @unset only `ACCEPT_REDIRECT_URL`'s origin, if that is set
   * @readBy api start
   */
  ACCEPT_REDIRECT_ORIGINS: originList,
  /**
   * The next step for invitations without a `redirectUrl` (e.g. the platform's sign-in page).
   * @unset none
   * @readBy api start
   */
  ACCEPT_REDIRECT_URL: z.preprocess((v) => (v === '' ? undefined : v), z.string().url().regex(/^https?:\/\//, 'must be an http or https URL').optional()),
  /**
   * The language of an invitation sent without `locale` (its mails and pages), of a bulk row
   * without one, of the template endpoints without `?locale`, and of a link page opened with
   * neither `?lang` nor a usable Accept-Language.
   * @readBy api worker start
   */
  DEFAULT_LOCALE: z.enum(['de', 'en']).default('de'),
  /**
   * Where `npm start` keeps its embedded data (Postgres, Temporal's histories, generated keys).
   * @readBy start
   */
  DATA_DIR: z.string().default('.data'),
  /**
   * Public endpoints: requests per minute per client address.
   * @readBy api start
   */
  RATE_LIMIT_PER_MINUTE: z.coerce.number().int().min(1).default(60),
  /**
   * Failed logins per account and client address in 15 minutes (successes don't count). Client
   * addresses: IPv4; IPv6 by /64; IPv4-mapped IPv6 as IPv4. A client that logged in to the
   * account successfully within 30 days gets its own budget of the same size when this or the
   * next limit is reached, so someone else's flood never locks the real user out.
   * @readBy api start
   */
  LOGIN_FAILURES_PER_15_MIN: z.coerce.number().int().min(1).default(10),
  /**
   * Failed logins per account across all clients in an hour (NIST's ~100).
   * @readBy api start
   */
  LOGIN_FAILURES_PER_ACCOUNT_PER_HOUR: z.coerce.number().int().min(1).default(100),
  /**
   * Reset mails per address per hour; beyond it the answer stays 202 but no mail goes out,
   * and no header tells.
   * @readBy api start
   */
  RESET_MAILS_PER_HOUR: z.coerce.number().int().min(1).default(5),
  /**
   * Re-sends (R7) of one logged mail within `RESEND_LIMIT_WINDOW`; beyond, 429 with
   * `Retry-After`. A mail that did not arrive needs one or two copies; three leave room for a slip.
   * @readBy api start
   */
  RESEND_LIMIT_PER_EMAIL: z.coerce.number().int().min(1).default(3),
  /**
   * Re-sends to one recipient address (any of its mails, any user) within `RESEND_LIMIT_WINDOW`;
   * beyond, 429. Bounds mail bombing through copies of copies and through several mails.
   * @readBy api start
   */
  RESEND_LIMIT_PER_RECIPIENT: z.coerce.number().int().min(1).default(5),
  /**
   * The sliding window of both re-send limits.
   * @readBy api start
   */
  RESEND_LIMIT_WINDOW: duration('1 hour'),
  /**
   * Invitations one API process handles at once; beyond, an immediate 503 `overloaded` with
   * `Retry-After: 1` and nothing created, so an overloaded service refuses fast instead of
   * answering slowly (src/api/admission.ts).
   * @readBy api start
   */
  INVITE_MAX_IN_FLIGHT: z.coerce.number().int().min(1).default(32),
  /**
   * Bulk invitations start at most this many invitations (and so invitation mails) a second.
   * 5 stays below what common relays take without throttling or greylisting a sender (Amazon
   * SES starts accounts at 14/s, Google's SMTP relay and many hosted servers at far less):
   * 1,000 rows go out in under 4 minutes. Fractions are allowed (0.5 = one every 2 s).
   * @readBy api worker start
   */
  BULK_INVITES_PER_SECOND: z.coerce.number().positive().max(1000).default(5),
  /**
   * Which proxies' `X-Forwarded-For` entries to believe, as Express's `trust proxy`: `false`
   * (none: the socket address is the client), a hop count (`1`, `2`: the address that many of
   * our proxies back), or a list of proxy addresses/CIDRs and `loopback`/`linklocal`/`uniquelocal`
   * (`loopback, 10.0.0.0/8`). `true` means one hop, never the leftmost entry, which the client
   * writes (ProxyTrust in src/config.ts).
   * @readBy api start
   */
  TRUST_PROXY: proxyTrust,
  // Only for `npm start`'s embedded services:
  /**
   * Port of `npm start`'s embedded Temporal dev server.
   * @readBy start
   */
  TEMPORAL_DEV_PORT: port.default(7233),
  /**
   * Port of the embedded Temporal UI.
   * @readBy start
   */
  TEMPORAL_UI_PORT: port.default(8233),
  /**
   * SMTP port of `npm start`'s mail catcher.
   * @readBy start
   */
  MAILCATCHER_SMTP_PORT: port.default(1025),
  /**
   * Port of the mail catcher's inbox page.
   * @readBy start
   */
  MAILCATCHER_HTTP_PORT: port.default(1080),
  /**
   * Allow webhook URLs on loopback, link-local and private ranges, for a platform on the same
   * private network ([integration: webhooks](integration.md#webhooks)).
   * @contract
   * @readBy api worker start
   */
  WEBHOOK_ALLOW_PRIVATE: z.enum(['true', 'false']).default('false').transform((v) => v === 'true'),
  /**
   * First retry delay of a webhook delivery, doubling up to `WEBHOOK_RETRY_MAX_INTERVAL`.
   * @readBy worker start
   */
  WEBHOOK_RETRY_INITIAL_INTERVAL: duration('30s'),
  /**
   * The longest delay between two attempts of a webhook delivery.
   * @readBy worker start
   */
  WEBHOOK_RETRY_MAX_INTERVAL: duration('1 hour'),
  /**
   * A delivery is retried this long; an endpoint failing every attempt this long is disabled.
   * @readBy api worker start
   */
  WEBHOOK_RETRY_WINDOW: duration('3 days'),
  /**
   * The webhook dispatcher's durable timer, a fallback: workers deliver new events at commit
   * (LISTEN/NOTIFY), so this only bounds the delay of what that missed (a lost notification, a
   * crashed worker, the embedded PGlite of `npm start`, which has no LISTEN).
   * @readBy worker start
   */
  WEBHOOK_DISPATCH_INTERVAL: duration('2s'),
  /**
   * The total deadline of one delivery attempt, from the lookup to the last byte read (not per
   * read: a receiver trickling a byte a second is cut off here). At most 50 s (the delivery
   * activity's start-to-close is 1 minute). Also bounds a test event sent through the API.
   * @readBy api worker start
   */
  WEBHOOK_TIMEOUT: duration('10s'),
  /**
   * After a webhook secret is rotated, the replaced secret keeps signing beside the new one this
   * long (each delivery carries both signatures), so receivers can switch without dropping an
   * event. `expirePreviousSecret` on the endpoint ends it sooner.
   * @readBy api start
   */
  WEBHOOK_SECRET_OVERLAP: duration('24 hours'),
  /**
   * Put the user's `username` and `email` in webhook payloads, as the user's record holds them
   * when the event is dispatched (a deleted user's events carry neither). Off: payloads carry
   * ids, reasons and the invitation's metadata only, and the platform reads the user by id.
   * @contract
   * @readBy worker start
   */
  WEBHOOK_INCLUDE_PII: z.enum(['true', 'false']).default('false').transform((v) => v === 'true'),
  /**
   * pino level.
   * @readBy api worker start
   */
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  ...workerTuning,
  ...consoleSettings,
});

/** The schema itself, for the generated docs/configuration.md (scripts/config-docs.ts). */
export { schema as configSchema };
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
  const publicBaseUrl = withoutTrailingSlashes(c.PUBLIC_BASE_URL ?? `http://localhost:${c.PORT}`);
  return Object.freeze({ ...c, PUBLIC_BASE_URL: publicBaseUrl });
}
