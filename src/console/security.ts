import { timingSafeEqual } from 'node:crypto';
import type { MiddlewareHandler } from 'hono';
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';
import type { Config } from '../config.js';
import { currentSession } from '../console-sessions/session.service.js';
import type { AppDeps } from '../deps.js';
import { BASE, type ConsoleContext, type ConsoleEnv } from './context.js';

/**
 * The console's session cookie: HttpOnly (no script reads it), SameSite=Strict (no other site's
 * page makes the browser send it), Secure and `__Host-` bound to this origin when the service
 * is served over https. The cookie holds a random token; the session itself is in the database.
 */
export function sessionCookie(config: Config) {
  const secure = config.PUBLIC_BASE_URL.startsWith('https:');
  return {
    name: secure ? '__Host-console_session' : 'console_session',
    options: { httpOnly: true, sameSite: 'Strict' as const, secure, path: secure ? '/' : BASE },
  };
}

/**
 * Headers of every console response: a CSP allowing only this origin's own script and style
 * (no inline script, nothing third-party), framing only by CONSOLE_FRAME_ANCESTORS, nothing
 * cached, no Referer to other origins.
 */
export function consoleHeaders(config: Config): MiddlewareHandler<ConsoleEnv> {
  const frameAncestors = config.CONSOLE_FRAME_ANCESTORS.trim();
  const csp = `default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors ${frameAncestors}`;
  return async (c, next) => {
    await next();
    c.header('content-security-policy', csp);
    c.header('x-content-type-options', 'nosniff');
    // Not no-referrer: under it Chrome sends `Origin: null` with a form post, and the origin
    // check below needs the real one. Nothing leaves for another origin either way.
    c.header('referrer-policy', 'same-origin');
    if (frameAncestors === "'none'") c.header('x-frame-options', 'DENY');
    if (!c.res.headers.has('cache-control')) c.header('cache-control', 'no-store');
  };
}

/** The origins a console form may come from: the configured public one, and the one the browser used. */
function sameOrigin(c: ConsoleContext, config: Config): boolean {
  const origin = c.req.header('origin');
  if (origin === undefined) {
    // Browsers without Origin on a POST still say where it came from.
    const site = c.req.header('sec-fetch-site');
    return site === undefined || site === 'same-origin';
  }
  return origin === new URL(config.PUBLIC_BASE_URL).origin || origin === new URL(c.req.url).origin;
}

const equal = (a: string, b: string) => a.length === b.length && timingSafeEqual(Buffer.from(a), Buffer.from(b));

/**
 * Cross-site request forgery, twice over: a state-changing request must come from the
 * console's own origin (Origin, else Sec-Fetch-Site), and — once signed in — carry the
 * session's own token in the form. Either missing is a 403 before anything else runs.
 */
export function csrfGuard(config: Config, refuse: (c: ConsoleContext) => Response | Promise<Response>): MiddlewareHandler<ConsoleEnv> {
  return async (c, next) => {
    if (c.req.method === 'GET' || c.req.method === 'HEAD') return next();
    if (!sameOrigin(c, config)) return refuse(c);
    const body = await c.req.parseBody().catch(() => ({}));
    const form = Object.fromEntries(Object.entries(body).filter((e): e is [string, string] => typeof e[1] === 'string'));
    c.set('form', form);
    return next();
  };
}

/** Pages behind the sign-in: no session (or one that no longer counts) goes to the sign-in page. */
export function requireSession(deps: AppDeps, refuse: (c: ConsoleContext) => Response | Promise<Response>): MiddlewareHandler<ConsoleEnv> {
  const cookie = sessionCookie(deps.config);
  return async (c, next) => {
    const token = getCookie(c, cookie.name);
    const session = await currentSession(deps, token);
    if (!session) {
      if (token) deleteCookie(c, cookie.name, cookie.options);
      const back = c.req.method === 'GET' ? `&next=${encodeURIComponent(c.req.path + (new URL(c.req.url).search || ''))}` : '';
      return c.redirect(`${BASE}/login?ended=${token ? 1 : 0}${back}`, 303);
    }
    if (c.req.method !== 'GET' && c.req.method !== 'HEAD' && !equal(c.get('form')?._csrf ?? '', session.csrfToken)) return refuse(c);
    c.set('session', session);
    return next();
  };
}

export function startSessionCookie(c: ConsoleContext, config: Config, token: string) {
  const cookie = sessionCookie(config);
  setCookie(c, cookie.name, token, { ...cookie.options, maxAge: Math.floor(config.CONSOLE_SESSION_MAX_AGE / 1000) });
}

export function sessionToken(c: ConsoleContext, config: Config): string | undefined {
  return getCookie(c, sessionCookie(config).name);
}

export function endSessionCookie(c: ConsoleContext, config: Config) {
  const cookie = sessionCookie(config);
  deleteCookie(c, cookie.name, cookie.options);
}
