import type { IncomingMessage } from 'node:http';
import { isIPv4, isIPv6 } from 'node:net';
import { getConnInfo } from '@hono/node-server/conninfo';
import type { Context, MiddlewareHandler } from 'hono';
import { rateLimiter } from 'hono-rate-limiter';
import proxyAddr from 'proxy-addr';
import type { Config, ProxyTrust } from '../config.js';
import { DomainError } from '../errors.js';
import { canonicalEmail } from '../users/identity.js';
import { ipv6Groups } from '../ip-address.js';

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

/**
 * The bucket a client address counts in: IPv4 as it is (an IPv4-mapped IPv6 address is its
 * IPv4 address), IPv6 by its /64 in one canonical spelling — one host, one LAN, typically
 * holds a whole /64, so counting per address would give it 2^64 budgets.
 */
export function clientBucket(address: string): string {
  const zone = address.indexOf('%');
  const plain = zone === -1 ? address : address.slice(0, zone);
  if (isIPv4(plain)) return plain;
  if (!isIPv6(plain)) return address;
  const groups = ipv6Groups(plain);
  if (groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff) {
    return [groups[6]! >> 8, groups[6]! & 0xff, groups[7]! >> 8, groups[7]! & 0xff].join('.');
  }
  return `${groups.slice(0, 4).map((g) => g.toString(16)).join(':')}::/64`;
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

  /** Marks a key for a fresh window (a successful login: this client is known for the window). */
  remember(key: string, now: number): void {
    this.counts.set(key, { n: 1, resetAt: now + this.windowMs });
  }

  /** Gives back a hit taken in advance (an attempt that turned out not to count). */
  release(key: string, now: number): void {
    const entry = this.counts.get(key);
    if (entry && entry.resetAt > now && entry.n > 0) entry.n -= 1;
  }
}

/** How long a client that logged in successfully stays known to that account. */
const KNOWN_CLIENT_MS = 30 * 24 * 60 * 60_000;

/**
 * Failed logins, counted two ways. Per account *and* client: a client that keeps guessing
 * is stopped (LOGIN_FAILURES_PER_15_MIN). Per account across clients (NIST SP 800-63B 5.2.2,
 * ~100): once reached, clients that already failed on this account are stopped too, but a
 * client with a clean record still gets its try; a guesser spread over many addresses gets
 * one guess per address and hour.
 *
 * The real user is never locked out by someone else (issue 15.4): a client (address bucket)
 * that logged in to this account successfully within 30 days keeps a lane of its own when the
 * limits above are reached, with the same per-15-minutes budget, which only its own failures
 * use up. An attacker elsewhere never has a success to show, so stays stopped; the real user,
 * whose own typo put their address on the account's list of failed clients while a flood
 * filled the account's count, still gets in. (An attacker sharing the user's address bucket
 * can use that lane too, at the same slow rate: buckets are all we know of a client.)
 */
function loginFailureGuard(config: Config, accountOf: AccountOfLogin, clientOf: (c: Context) => string): MiddlewareHandler {
  const perPair = new FixedWindows(15 * 60_000);
  const perAccount = new FixedWindows(60 * 60_000);
  const knownLane = new FixedWindows(15 * 60_000);
  const known = new FixedWindows(KNOWN_CLIENT_MS);
  return async (c, next) => {
    const account = await accountOf(await bodyField(c, 'login'));
    const pairKey = `${account}\u0000${clientOf(c)}`;
    const now = Date.now();
    const pair = perPair.get(pairKey, now);
    const all = perAccount.get(account, now);
    const limitedUntil =
      pair.n >= config.LOGIN_FAILURES_PER_15_MIN ? pair.resetAt : all.n >= config.LOGIN_FAILURES_PER_ACCOUNT_PER_HOUR && pair.n > 0 ? Math.min(all.resetAt, pair.resetAt) : undefined;
    let counted = [perPair, perAccount].map((w) => [w, w === perPair ? pairKey : account] as const);
    if (limitedUntil !== undefined) {
      if (known.get(pairKey, now).n === 0) tooManyUntil(limitedUntil);
      const lane = knownLane.get(pairKey, now);
      if (lane.n >= config.LOGIN_FAILURES_PER_15_MIN) tooManyUntil(Math.min(limitedUntil, lane.resetAt));
      counted = [[knownLane, pairKey]];
    }
    // Every attempt counts as a failure until it is known not to be one: otherwise attempts
    // sent in parallel all see the count from before any of them failed, and pass the limit.
    for (const [w, key] of counted) w.hit(key, now);
    try {
      await next();
    } finally {
      if (c.res.status !== 401) for (const [w, key] of counted) w.release(key, Date.now());
      if (c.res.status === 200) known.remember(pairKey, Date.now());
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
  const clientOf = (c: Context) => clientBucket(clientAddressFrom(socketAddress(c), c.req.header('x-forwarded-for'), trusted));
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
