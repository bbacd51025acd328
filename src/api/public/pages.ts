import { readFileSync } from 'node:fs';
import type { Context, Hono } from 'hono';
import { html, raw } from 'hono/html';
import { acceptStrings, pageLocale, type PageLocale } from './page-strings.js';

const asset = (name: string) => readFileSync(new URL(`./assets/${name}`, import.meta.url), 'utf8');
const assets: Record<string, { body: string; type: string }> = {
  'app.css': { body: asset('app.css'), type: 'text/css; charset=utf-8' },
  'accept.js': { body: asset('accept.js'), type: 'text/javascript; charset=utf-8' },
};

/**
 * Link pages carry the token in the fragment, which never reaches the server. They must not
 * leak it onwards either: no Referer, no caching, no third-party anything (security.md 4).
 */
function linkPageHeaders(c: Context) {
  c.header('referrer-policy', 'no-referrer');
  c.header('cache-control', 'no-store');
  c.header(
    'content-security-policy',
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
  );
  c.header('x-content-type-options', 'nosniff');
  c.header('x-frame-options', 'DENY');
}

function page(locale: PageLocale, title: string, script: string, strings: Record<string, string>, body: ReturnType<typeof html>) {
  return html`<!doctype html>
<html lang="${locale}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>${title}</title>
<link rel="stylesheet" href="/assets/app.css">
<script type="application/json" id="strings">${raw(JSON.stringify(strings).replace(/</g, '\\u003c'))}</script>
<script src="/assets/${script}" defer></script>
</head>
<body>
<main class="card" aria-labelledby="title">
${body}
</main>
</body>
</html>`;
}

export function registerPages(app: Hono<any>) {
  app.get('/assets/:name', (c) => {
    const file = assets[c.req.param('name')];
    if (!file) return c.notFound();
    c.header('cache-control', 'public, max-age=300');
    c.header('x-content-type-options', 'nosniff');
    return c.body(file.body, 200, { 'content-type': file.type });
  });

  app.get('/invitations/accept', (c) => {
    const locale = pageLocale(c.req.query('lang'), c.req.header('accept-language'));
    const t = acceptStrings[locale];
    linkPageHeaders(c);
    return c.html(
      page(
        locale,
        t.title,
        'accept.js',
        { ...t, locale },
        html`<h1 id="title">${t.title}</h1>
<noscript><p class="error">${t.noscript}</p></noscript>
<p id="status" role="status" aria-live="polite">${t.loading}</p>
<form id="accept-form" hidden novalidate>
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
<section id="outcome" hidden>
  <h2 id="outcome-title" tabindex="-1"></h2>
  <p id="outcome-text"></p>
  <p id="outcome-next"></p>
  <p id="outcome-link" hidden><a href="/password/forgot?lang=${locale}">${t.forgot}</a></p>
</section>`,
      ),
    );
  });
}
