import { Hono } from 'hono';
import type { CaughtMail } from './mail-catcher.js';

/** The mail catcher's web inbox: a list, one page per mail, and a small JSON API. */
function esc(value: string): string {
  return value
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;')
    .replaceAll("'", '&#39;');
}

// The page runs no script; mails are shown in a sandboxed srcdoc iframe, which inherits this policy.
const CSP =
  "default-src 'none'; style-src 'unsafe-inline'; img-src data: http: https:; frame-src 'self'; " +
  "base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

function page(title: string, body: string): string {
  return `<!doctype html><html><head><meta charset="utf-8"><title>${esc(title)}</title><style>
body{font:14px/1.4 system-ui,sans-serif;margin:1.5rem;color:#18181b}table{border-collapse:collapse;width:100%}
td,th{text-align:left;padding:.3rem .6rem;border-bottom:1px solid #e4e4e7;vertical-align:top}
iframe{width:100%;height:60vh;border:1px solid #d4d4d8}pre{white-space:pre-wrap;background:#f4f4f5;padding:1rem}
</style></head><body>${body}</body></html>`;
}

function linksOf(html: string): string[] {
  const hrefs = [...html.matchAll(/href="([^"]*)"/g)].map((m) => decodeEntities(m[1] ?? ''));
  return [...new Set(hrefs.filter((h) => /^https?:/i.test(h)))];
}

function decodeEntities(s: string): string {
  return s
    .replace(/&#x([0-9a-f]+);/gi, (_, h: string) => String.fromCodePoint(parseInt(h, 16)))
    .replace(/&#(\d+);/g, (_, d: string) => String.fromCodePoint(Number(d)))
    .replaceAll('&quot;', '"')
    .replaceAll('&lt;', '<')
    .replaceAll('&gt;', '>')
    .replaceAll('&amp;', '&');
}

export function inboxApp(list: () => CaughtMail[], clear: () => void): Hono {
  const app = new Hono();
  app.use('*', async (c, next) => {
    await next();
    c.header('Content-Security-Policy', CSP);
    c.header('X-Content-Type-Options', 'nosniff');
    c.header('Referrer-Policy', 'no-referrer');
  });
  app.get('/', (c) => {
    const rows = list()
      .map(
        (m) =>
          `<tr><td>${esc(m.receivedAt)}</td><td>${esc(m.to.join(', '))}</td>` +
          `<td><a href="/messages/${encodeURIComponent(m.id)}">${esc(m.subject || '(no subject)')}</a></td></tr>`,
      )
      .join('');
    return c.html(
      page(
        'Mail catcher',
        `<h1>Mail catcher</h1><table><thead><tr><th>Received</th><th>To</th><th>Subject</th></tr></thead>` +
          `<tbody>${rows || '<tr><td colspan="3">No mail yet.</td></tr>'}</tbody></table>`,
      ),
    );
  });
  app.get('/messages/:id', (c) => {
    const m = list().find((x) => x.id === c.req.param('id'));
    if (!m) return c.html(page('Not found', '<p>No such message. <a href="/">Inbox</a></p>'), 404);
    const headerRows = Object.entries(m.headers)
      .map(([k, v]) => `<tr><th>${esc(k)}</th><td>${esc(v)}</td></tr>`)
      .join('');
    const links = linksOf(m.html)
      .map((h) => `<li><a href="${esc(h)}" rel="noreferrer">${esc(h)}</a></li>`)
      .join('');
    return c.html(
      page(
        m.subject,
        `<p><a href="/">&larr; Inbox</a></p><h1>${esc(m.subject || '(no subject)')}</h1>` +
          `<table><tr><th>Envelope from</th><td>${esc(m.from)}</td></tr>` +
          `<tr><th>Envelope to</th><td>${esc(m.to.join(', '))}</td></tr>${headerRows}</table>` +
          (links ? `<h2>Links</h2><ul>${links}</ul>` : '') +
          `<h2>HTML</h2><iframe sandbox srcdoc="${esc(m.html)}"></iframe>` +
          `<h2>Text</h2><pre>${esc(m.text)}</pre>`,
      ),
    );
  });
  app.get('/api/messages', (c) => c.json(list()));
  app.get('/api/messages/:id', (c) => {
    const m = list().find((x) => x.id === c.req.param('id'));
    return m ? c.json(m) : c.json({ error: 'not found' }, 404);
  });
  app.delete('/api/messages', (c) => {
    clear();
    return c.body(null, 204);
  });
  return app;
}
