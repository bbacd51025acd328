/** @jsxImportSource hono/jsx */
import { readFileSync } from 'node:fs';
import { Hono } from 'hono';
import { getCookie, setCookie } from 'hono/cookie';
import type { AppDeps } from '../deps.js';
import { DomainError, failureStatus } from '../errors.js';
import { limitBody } from '../api/middleware.js';
import type { PublicRateLimits } from '../api/rate-limits.js';
import { toDomainError } from '../api/problem.js';
import { BASE, type ConsoleContext, type ConsoleEnv } from './context.js';
import { registerEmails } from './emails.js';
import { Notice, Page } from './layout.js';
import { consoleHeaders, csrfGuard, requireSession } from './security.js';
import { registerSignIn, tooManyAttempts } from './sign-in.js';
import { consoleLocale, strings } from './strings.js';
import { registerAudit } from './audit.js';
import { registerTemplates } from './templates.js';
import { registerUserEdit } from './user-edit.js';
import { registerUsers } from './users.js';

const asset = (name: string) => readFileSync(new URL(`./assets/${name}`, import.meta.url), 'utf8');
const assets: Record<string, { body: string; type: string }> = {
  'console.css': { body: asset('console.css'), type: 'text/css; charset=utf-8' },
  'console.js': { body: asset('console.js'), type: 'text/javascript; charset=utf-8' },
};

const LANG_COOKIE = 'console_lang';

function problemPage(c: ConsoleContext, status: number, message: string) {
  const t = c.get('t');
  return c.html(
    <Page c={c} title={status === 404 ? t.notFound : t.errorTitle} section={null}>
      <Notice kind="error">{message}</Notice>
      <p>
        <a href={`${BASE}/users`}>{t.overview}</a>
      </p>
    </Page>,
    status as 400,
  );
}

/** A state-changing request that did not come from the console: 403, and nothing ran. */
const refuse = (c: ConsoleContext) => problemPage(c, 403, c.get('t').forbidden);

/**
 * The staff console at /console (issue 16): server-rendered pages (hono/jsx) over the same
 * services the API calls, in German (the seed's words) or English. Everything it changes
 * goes through a service with the signed-in staff member as actor; this folder holds no SQL
 * and imports no repository (eslint.config.js).
 */
export function registerConsole(app: Hono<any>, deps: AppDeps, limits: PublicRateLimits) {
  const ui = new Hono<ConsoleEnv>();
  ui.use('*', consoleHeaders(deps.config));
  ui.use('*', async (c, next) => {
    const chosen = c.req.query('lang');
    if (chosen === 'de' || chosen === 'en') setCookie(c, LANG_COOKIE, chosen, { path: BASE, sameSite: 'Strict', httpOnly: true, maxAge: 365 * 86400 });
    const locale = consoleLocale(chosen ?? getCookie(c, LANG_COOKIE), c.req.header('accept-language'));
    c.set('locale', locale);
    c.set('t', strings[locale]);
    await next();
  });
  ui.use('*', limitBody(256 * 1024));
  ui.use('*', csrfGuard(deps.config, refuse));

  ui.get('/assets/:name', (c) => {
    const name = c.req.param('name');
    const file = Object.hasOwn(assets, name) ? assets[name] : undefined;
    if (!file) return problemPage(c, 404, c.get('t').notFound);
    c.header('cache-control', 'public, max-age=300');
    return c.body(file.body, 200, { 'content-type': file.type });
  });
  registerSignIn(ui, deps, limits);

  // Everything below needs a signed-in staff member (and, for a POST, the session's token).
  ui.use('*', requireSession(deps, refuse));
  // "/console" itself: the front door.
  ui.get('/', (c) => c.redirect(`${BASE}/users`, 303));
  registerUsers(ui, deps);
  registerUserEdit(ui, deps);
  registerEmails(ui, deps);
  registerTemplates(ui, deps);
  registerAudit(ui, deps);
  ui.all('*', (c) => problemPage(c, 404, c.get('t').notFound));

  ui.onError((error, c) => {
    const domain = toDomainError(error);
    if (domain?.type === 'TooManyRequests') return tooManyAttempts(c, Number(domain.extra.retryAfterSeconds ?? 60));
    if (domain) return problemPage(c, failureStatus[domain.type], domainMessage(c, domain));
    deps.log.error({ err: error, path: c.req.path, method: c.req.method }, 'unhandled error in the console');
    return problemPage(c, 500, c.get('t').errorTitle);
  });

  app.route(BASE, ui);
}

function domainMessage(c: ConsoleContext, error: DomainError): string {
  const t = c.get('t');
  if (error.type === 'DependencyUnavailable' || error.type === 'Overloaded') return t.unavailable;
  if (error.type === 'UserNotFound' || error.type === 'EmailNotFound' || error.type === 'NotFound' || error.type === 'InvitationNotFound') return t.notFound;
  return error.message;
}
