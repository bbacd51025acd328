import { getConnInfo } from '@hono/node-server/conninfo';
import type { Context, MiddlewareHandler } from 'hono';
import { rateLimiter } from 'hono-rate-limiter';
import type { Config } from '../config.js';
import { DomainError } from '../errors.js';
import { canonicalEmail, canonicalUsername } from '../users/identity.js';

/**
 * Rate limits on the public endpoints (security.md 15), in memory per process. Keys are
 * chosen so a flood cannot lock the real user out: login failures count per account *and*
 * client address (an attacker elsewhere exhausts only their own bucket), and successful
 * logins never count.
 */
export function clientAddress(c: Context, trustProxy: boolean): string {
  if (trustProxy) {
    const forwarded = c.req.header('x-forwarded-for')?.split(',')[0]?.trim();
    if (forwarded) return forwarded;
  }
  try {
    return getConnInfo(c).remote.address ?? 'unknown';
  } catch {
    return 'unknown'; // in-process requests (tests) have no socket
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

/** Fixed-window failure counts in memory; expired windows are dropped as they are met. */
class FailureWindows {
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
}

/**
 * Failed logins, counted two ways. Per account *and* client: a client that keeps guessing
 * is stopped (LOGIN_FAILURES_PER_15_MIN). Per account across clients (NIST SP 800-63B 5.2.2,
 * ~100): once reached, clients that already failed on this account are stopped too, but a
 * client with a clean record still gets its try, so a flood can never lock the real user
 * out; a guesser spread over many addresses gets one guess per address and hour.
 */
function loginFailureGuard(config: Config): MiddlewareHandler {
  const perPair = new FailureWindows(15 * 60_000);
  const perAccount = new FailureWindows(60 * 60_000);
  return async (c, next) => {
    const account = await loginKey(c);
    const pairKey = `${account}\u0000${clientAddress(c, config.TRUST_PROXY)}`;
    const now = Date.now();
    const pair = perPair.get(pairKey, now);
    if (pair.n >= config.LOGIN_FAILURES_PER_15_MIN) tooManyUntil(pair.resetAt);
    const all = perAccount.get(account, now);
    if (all.n >= config.LOGIN_FAILURES_PER_ACCOUNT_PER_HOUR && pair.n > 0) tooManyUntil(Math.min(all.resetAt, pair.resetAt));
    await next();
    if (c.res.status === 401) {
      perPair.hit(pairKey, now);
      perAccount.hit(account, now);
    }
  };
}

async function bodyField(c: Context, field: string): Promise<string> {
  try {
    const body = (await c.req.json()) as Record<string, unknown>;
    return typeof body?.[field] === 'string' ? (body[field] as string) : '';
  } catch {
    return ''; // the validator answers malformed bodies
  }
}

async function loginKey(c: Context): Promise<string> {
  const login = await bodyField(c, 'login');
  const email = canonicalEmail(login);
  return email.ok ? email.value : canonicalUsername(login.trim());
}

export function publicRateLimits(config: Config): {
  perClient: MiddlewareHandler;
  loginFailures: MiddlewareHandler;
  resetMails: MiddlewareHandler;
} {
  const perClient = rateLimiter({
    windowMs: 60_000,
    limit: config.RATE_LIMIT_PER_MINUTE,
    standardHeaders: 'draft-6',
    keyGenerator: (c) => `client:${clientAddress(c, config.TRUST_PROXY)}`,
    handler: tooMany,
  });
  const loginFailures = loginFailureGuard(config);
  // Per address typed in, across clients: protects mailboxes from reset-mail floods. The
  // answer stays the neutral 202, so the limit reveals nothing about accounts. It cannot lock
  // the real user out: the window is never longer than a reset link lives, so the newest
  // mail the flood itself caused still holds a working link.
  const resetMails = rateLimiter({
    windowMs: Math.min(60 * 60_000, config.PASSWORD_RESET_TTL),
    limit: config.RESET_MAILS_PER_HOUR,
    keyGenerator: async (c) => {
      const email = canonicalEmail(await bodyField(c, 'email'));
      return `reset:${email.ok ? email.value : 'invalid'}`;
    },
    handler: async (c) => c.json({ message: RESET_REQUESTED_MESSAGE }, 202),
  });
  return { perClient, loginFailures, resetMails };
}

export const RESET_REQUESTED_MESSAGE =
  'If an account exists for this address, we have sent it a link to set a new password. The link is valid for a limited time.';
