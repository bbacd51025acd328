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
  const seconds = info?.resetTime ? Math.max(1, Math.ceil((info.resetTime.getTime() - Date.now()) / 1000)) : 60;
  throw new DomainError('TooManyRequests', `Too many requests. Try again in ${seconds} seconds.`, { retryAfterSeconds: seconds });
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
  accountFailures: MiddlewareHandler;
  resetMails: MiddlewareHandler;
} {
  const perClient = rateLimiter({
    windowMs: 60_000,
    limit: config.RATE_LIMIT_PER_MINUTE,
    standardHeaders: 'draft-6',
    keyGenerator: (c) => `client:${clientAddress(c, config.TRUST_PROXY)}`,
    handler: tooMany,
  });
  const loginFailures = rateLimiter({
    windowMs: 15 * 60_000,
    limit: config.LOGIN_FAILURES_PER_15_MIN,
    skipSuccessfulRequests: true,
    keyGenerator: async (c) => `login:${await loginKey(c)}:${clientAddress(c, config.TRUST_PROXY)}`,
    handler: tooMany,
  });
  // NIST SP 800-63B 5.2.2: at most ~100 failures per account, across all clients, against
  // guessing spread over many addresses. High enough that only such an attack reaches it.
  const accountFailures = rateLimiter({
    windowMs: 60 * 60_000,
    limit: config.LOGIN_FAILURES_PER_ACCOUNT_PER_HOUR,
    skipSuccessfulRequests: true,
    keyGenerator: async (c) => `account:${await loginKey(c)}`,
    handler: tooMany,
  });
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
  return { perClient, loginFailures, accountFailures, resetMails };
}

export const RESET_REQUESTED_MESSAGE =
  'If an account exists for this address, we have sent it a link to set a new password. The link is valid for a limited time.';
