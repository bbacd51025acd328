import { readFileSync } from 'node:fs';
import type { Context, Hono } from 'hono';
import { html, raw } from 'hono/html';
import type { Config } from '../../config.js';
import { dateLocales, EXPIRY_FORMAT } from '../../../emails/i18n.js';
import { acceptStrings, forgotStrings, pageLocale, resetStrings, type PageLocale } from './page-strings.js';

const asset = (name: string) => readFileSync(new URL(`./assets/${name}`, import.meta.url), 'utf8');
const script = (name: string) => ({ body: asset(name), type: 'text/javascript; charset=utf-8' });
const assets: Record<string, { body: string; type: string }> = {
  'app.css': { body: asset('app.css'), type: 'text/css; charset=utf-8' },
  'common.js': script('common.js'),
  'accept.js': script('accept.js'),
  'reset.js': script('reset.js'),
  'forgot.js': script('forgot.js'),
};

type Html = ReturnType<typeof html>;

/**
 * Link pages carry the token in the fragment, which never reaches the server. They must not
 * leak it onwards either: no Referer, no caching, no third-party anything (security.md 4).
 * The forgot page carries no token but gets the same: it is where a leaked reset starts.
 */
function pageHeaders(c: Context) {
  c.header('referrer-policy', 'no-referrer');
  c.header('cache-control', 'no-store');
  c.header(
    'content-security-policy',
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
  );
  c.header('x-content-type-options', 'nosniff');
  c.header('x-frame-options', 'DENY');
}

// Page scripts are ES modules importing /assets/common.js, so the shared code needs no global.
function page(locale: PageLocale, title: string, script: string, strings: Record<string, string>, body: Html) {
  return html`<!doctype html>
<html lang="${locale}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>${title}</title>
<link rel="stylesheet" href="/assets/app.css">
<script type="application/json" id="strings">${raw(JSON.stringify(strings).replace(/</g, '\\u003c'))}</script>
<script type="module" src="/assets/${script}"></script>
</head>
<body>
<main class="card" aria-labelledby="title">
${body}
</main>
</body>
</html>`;
}

type PasswordPageStrings = (typeof acceptStrings)[PageLocale] | (typeof resetStrings)[PageLocale];

/** Accept and reset are one page shape: a token link, then a new password. */
function passwordPage(locale: PageLocale, t: PasswordPageStrings, script: string) {
  return page(
    locale,
    t.title,
    script,
    // The deadline is written as the mail wrote it (emails/i18n.ts), from the same format.
    { ...t, locale, dateLocale: dateLocales[locale], expiryFormat: JSON.stringify(EXPIRY_FORMAT) },
    html`<h1 id="title">${t.title}</h1>
<noscript><p class="error">${t.noscript}</p></noscript>
<p id="status" role="status" aria-live="polite">${t.loading}</p>
<form id="password-form" hidden novalidate>
  <p id="intro">${t.intro}</p>
  <p id="expiry" class="muted"></p>
  <input type="text" id="username" name="username" autocomplete="username" hidden readonly>
  <label for="password">${t.password}</label>
  <input type="password" id="password" name="password" autocomplete="new-password" minlength="8" maxlength="256" required aria-describedby="password-hint password-error">
  <p id="password-hint" class="muted">${t.passwordHint}</p>
  <label for="confirm">${t.confirm}</label>
  <input type="password" id="confirm" name="confirm" autocomplete="new-password" required aria-describedby="password-error">
  <label class="inline"><input type="checkbox" id="show"> ${t.show}</label>
  <p id="password-error" class="error" role="alert"></p>
  <button type="submit" id="submit">${t.submit}</button>
</form>
${outcome(locale, t.goneLink)}`,
  );
}

function outcome(locale: PageLocale, linkText: string) {
  return html`<section id="outcome" hidden>
  <h2 id="outcome-title" tabindex="-1"></h2>
  <p id="outcome-text"></p>
  <p id="outcome-next"></p>
  <p id="outcome-link" hidden><a href="/password/forgot?lang=${locale}">${linkText}</a></p>
  <p id="outcome-continue" hidden><a id="outcome-continue-link" class="button" href="#"></a></p>
</section>`;
}

function forgotPage(locale: PageLocale) {
  const t = forgotStrings[locale];
  return page(
    locale,
    t.title,
    'forgot.js',
    { ...t, locale },
    html`<h1 id="title">${t.title}</h1>
<noscript><p class="error">${t.noscript}</p></noscript>
<p id="status" role="status" aria-live="polite"></p>
<form id="forgot-form" novalidate>
  <p id="intro">${t.intro}</p>
  <label for="email">${t.email}</label>
  <input type="email" id="email" name="email" autocomplete="email" maxlength="254" required aria-describedby="email-error">
  <p id="email-error" class="error" role="alert"></p>
  <p id="form-error" class="error" role="alert"></p>
  <button type="submit" id="submit">${t.submit}</button>
</form>
<section id="outcome" hidden>
  <h2 id="outcome-title" tabindex="-1"></h2>
  <p id="outcome-text"></p>
</section>`,
  );
}

export function registerPages(app: Hono<any>, config: Pick<Config, 'DEFAULT_LOCALE'>) {
  app.get('/assets/:name', (c) => {
    const name = c.req.param('name');
    const file = Object.hasOwn(assets, name) ? assets[name] : undefined;
    if (!file) return c.notFound();
    c.header('cache-control', 'public, max-age=300');
    c.header('x-content-type-options', 'nosniff');
    return c.body(file.body, 200, { 'content-type': file.type });
  });

  const locale = (c: Context) => pageLocale(c.req.query('lang'), c.req.header('accept-language'), config.DEFAULT_LOCALE);

  app.get('/invitations/accept', (c) => {
    const l = locale(c);
    pageHeaders(c);
    return c.html(passwordPage(l, acceptStrings[l], 'accept.js'));
  });

  app.get('/password/reset', (c) => {
    const l = locale(c);
    pageHeaders(c);
    return c.html(passwordPage(l, resetStrings[l], 'reset.js'));
  });

  app.get('/password/forgot', (c) => {
    pageHeaders(c);
    return c.html(forgotPage(locale(c)));
  });
}
