import type { IncomingMessage } from 'node:http';
import { getConnInfo } from '@hono/node-server/conninfo';
import type { Context, MiddlewareHandler } from 'hono';
import { rateLimiter } from 'hono-rate-limiter';
import proxyAddr from 'proxy-addr';
import type { Config, ProxyTrust } from '../config.js';
import { DomainError } from '../errors.js';
import { canonicalEmail } from '../users/identity.js';

/**
 * Rate limits on the public endpoints (security.md 15), in memory per process. Keys are
 * chosen so a flood cannot lock the real user out: login failures count per account *and*
 * client address (an attacker elsewhere exhausts only their own bucket), and successful
 * logins never count. No key is one that any client can fill for all the others.
 */
export function proxyTrustFunction(trust: ProxyTrust): (address: string, hop: number) => boolean {
  if ('hops' in trust) return (_address, hop) => hop < trust.hops;
  return proxyAddr.compile([...trust.proxies]);
}

/**
 * The address the nearest untrusted hop connected from, walking X-Forwarded-For from the
 * right (the entries our own proxies appended) as Express does; the entries further left
 * are written by the client and never believed.
 */
export function clientAddressFrom(socketAddress: string | undefined, forwardedFor: string | undefined, trusted: (address: string, hop: number) => boolean): string {
  const request = { headers: forwardedFor === undefined ? {} : { 'x-forwarded-for': forwardedFor }, socket: { remoteAddress: socketAddress } };
  return proxyAddr(request as unknown as IncomingMessage, trusted) || 'unknown';
}

function socketAddress(c: Context): string | undefined {
  try {
    return getConnInfo(c).remote.address;
  } catch {
    return undefined; // in-process requests (tests) have no socket
  }
}

function tooMany(c: Context): never {
  const info = c.get('rateLimit' as never) as { resetTime?: Date } | undefined;
  tooManyUntil(info?.resetTime?.getTime() ?? Date.now() + 60_000);
}

function tooManyUntil(resetAt: number): never {
  const seconds = Math.max(1, Math.ceil((resetAt - Date.now()) / 1000));
  throw new DomainError('TooManyRequests', `Too many requests. Try again in ${seconds} seconds.`, { retryAfterSeconds: seconds });
}

/** Fixed-window counts in memory; expired windows are dropped as they are met. */
class FixedWindows {
  private readonly counts = new Map<string, { n: number; resetAt: number }>();
  constructor(private readonly windowMs: number) {}

  get(key: string, now: number): { n: number; resetAt: number } {
    const entry = this.counts.get(key);
    if (entry && entry.resetAt > now) return entry;
    if (entry) this.counts.delete(key);
    return { n: 0, resetAt: now + this.windowMs };
  }

  hit(key: string, now: number): void {
    const entry = this.get(key, now);
    this.counts.set(key, { n: entry.n + 1, resetAt: entry.resetAt });
    if (this.counts.size > 100_000) for (const [k, v] of this.counts) if (v.resetAt <= now) this.counts.delete(k);
  }

  /** Gives back a hit taken in advance (an attempt that turned out not to count). */
  release(key: string, now: number): void {
    const entry = this.counts.get(key);
    if (entry && entry.resetAt > now && entry.n > 0) entry.n -= 1;
  }
}

/**
 * Failed logins, counted two ways. Per account *and* client: a client that keeps guessing
 * is stopped (LOGIN_FAILURES_PER_15_MIN). Per account across clients (NIST SP 800-63B 5.2.2,
 * ~100): once reached, clients that already failed on this account are stopped too, but a
 * client with a clean record still gets its try, so a flood can never lock the real user
 * out; a guesser spread over many addresses gets one guess per address and hour.
 */
function loginFailureGuard(config: Config, accountOf: AccountOfLogin, clientOf: (c: Context) => string): MiddlewareHandler {
  const perPair = new FixedWindows(15 * 60_000);
  const perAccount = new FixedWindows(60 * 60_000);
  return async (c, next) => {
    const account = await accountOf(await bodyField(c, 'login'));
    const pairKey = `${account}\u0000${clientOf(c)}`;
    const now = Date.now();
    const pair = perPair.get(pairKey, now);
    if (pair.n >= config.LOGIN_FAILURES_PER_15_MIN) tooManyUntil(pair.resetAt);
    const all = perAccount.get(account, now);
    if (all.n >= config.LOGIN_FAILURES_PER_ACCOUNT_PER_HOUR && pair.n > 0) tooManyUntil(Math.min(all.resetAt, pair.resetAt));
    // Every attempt counts as a failure until it is known not to be one: otherwise attempts
    // sent in parallel all see the count from before any of them failed, and pass the limit.
    perPair.hit(pairKey, now);
    perAccount.hit(account, now);
    try {
      await next();
    } finally {
      if (c.res.status !== 401) {
        perPair.release(pairKey, Date.now());
        perAccount.release(account, Date.now());
      }
    }
  };
}

async function bodyField(c: Context, field: string): Promise<string> {
  try {
    // The console's sign-in form posts a form; the public endpoint JSON. Both bodies are cached for the handler.
    const form = /^(application\/x-www-form-urlencoded|multipart\/form-data)/i.test(c.req.header('content-type') ?? '');
    const body = (form ? await c.req.parseBody() : await c.req.json()) as Record<string, unknown>;
    return typeof body?.[field] === 'string' ? (body[field] as string) : '';
  } catch {
    return ''; // the validator answers malformed bodies
  }
}

/**
 * Which account a login names: the user's id when it resolves to one, so every spelling of
 * it ("carol", "CAROL", "carol@example.com") shares one count; else the canonical login.
 */
export type AccountOfLogin = (login: string) => Promise<string>;

/** Reset mails per address typed in, counted only for valid requests, and never shown in headers. */
export interface ResetMailLimit {
  /** Counts a request for this address; false once the window's mails are used up. */
  take(email: string): boolean;
}

export interface PublicRateLimits {
  perClient: MiddlewareHandler;
  /** One count per process for every way in: the login endpoint and the console's sign-in share it. */
  loginFailures: MiddlewareHandler;
  resetMails: ResetMailLimit;
}

export function publicRateLimits(config: Config, accountOf: AccountOfLogin): PublicRateLimits {
  const trusted = proxyTrustFunction(config.TRUST_PROXY);
  const clientOf = (c: Context) => clientAddressFrom(socketAddress(c), c.req.header('x-forwarded-for'), trusted);
  const perClient = rateLimiter({
    windowMs: 60_000,
    limit: config.RATE_LIMIT_PER_MINUTE,
    standardHeaders: 'draft-6',
    keyGenerator: (c) => `client:${clientOf(c)}`,
    handler: tooMany,
  });
  return { perClient, loginFailures: loginFailureGuard(config, accountOf, clientOf), resetMails: resetMailLimit(config) };
}

/**
 * Per address typed in, across clients: protects mailboxes from reset-mail floods. It is
 * taken only after the body has been validated, so a bad body is always a 400 or 422, and
 * an invalid address is never a bucket. Past the cap the answer stays the neutral 202 and
 * no header tells how many resets were asked (the per-client limit's headers count only the
 * caller's own requests). It cannot lock the real user out: the window is never longer than
 * a reset link lives, so the newest mail the flood itself caused still holds a working link.
 */
function resetMailLimit(config: Config): ResetMailLimit {
  const windows = new FixedWindows(Math.min(60 * 60_000, config.PASSWORD_RESET_TTL));
  return {
    take(email) {
      const canonical = canonicalEmail(email);
      if (!canonical.ok) return true; // refused as invalid by the service, never counted
      const now = Date.now();
      if (windows.get(canonical.value, now).n >= config.RESET_MAILS_PER_HOUR) return false;
      windows.hit(canonical.value, now);
      return true;
    },
  };
}

export const RESET_REQUESTED_MESSAGE =
  'If an account exists for this address, we have sent it a link to set a new password. The link is valid for a limited time.';
