import type { Config } from '../config.js';

/**
 * The next step after an invitee sets the password: a page of the platform (issue 17.2).
 * Only origins the operator configured may be named, so an invitation cannot turn our accept
 * page into a link to anywhere (an open redirect with our name on it, security.md 39).
 */
type RedirectSettings = Pick<Config, 'ACCEPT_REDIRECT_ORIGINS' | 'ACCEPT_REDIRECT_URL'>;

export function allowedRedirectOrigins(config: RedirectSettings): Set<string> {
  const origins = new Set(config.ACCEPT_REDIRECT_ORIGINS);
  if (config.ACCEPT_REDIRECT_URL) origins.add(new URL(config.ACCEPT_REDIRECT_URL).origin);
  return origins;
}

/** Why an invitation's redirectUrl is refused, or undefined when it may be used. */
export function redirectUrlProblem(url: string, config: RedirectSettings): string | undefined {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return 'must be an absolute URL';
  }
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') return 'must be an http or https URL';
  if (parsed.username || parsed.password) return 'must not carry a user name or password';
  const allowed = allowedRedirectOrigins(config);
  if (!allowed.size) return 'is not accepted: no ACCEPT_REDIRECT_ORIGINS are configured';
  if (!allowed.has(parsed.origin)) return `must be on one of the allowed origins (ACCEPT_REDIRECT_ORIGINS): ${[...allowed].join(', ')}`;
  return undefined;
}

/**
 * Where the accept page points once the password is set: the invitation's own URL while its
 * origin is still allowed (the configuration may have changed since), else the platform-wide
 * ACCEPT_REDIRECT_URL, else nowhere.
 */
export function nextStepUrl(stored: string | null, config: RedirectSettings): string | null {
  if (stored && redirectUrlProblem(stored, config) === undefined) return stored;
  return config.ACCEPT_REDIRECT_URL ?? null;
}
