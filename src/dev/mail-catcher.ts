import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { once } from 'node:events';
import { serve, type ServerType } from '@hono/node-server';
import { Hono } from 'hono';
import { simpleParser } from 'mailparser';
import { SMTPServer, type SMTPServerDataStream } from 'smtp-server';

export interface CaughtMail {
  id: string;
  from: string;
  to: string[];
  subject: string;
  html: string;
  text: string;
  receivedAt: string;
  headers: Record<string, string>;
}

export interface MailCatcher {
  smtpPort: number;
  httpPort?: number;
  smtpUrl: string;
  inboxUrl?: string;
  /** Newest first. */
  messages(): CaughtMail[];
  waitFor(pred: (m: CaughtMail) => boolean, timeoutMs?: number): Promise<CaughtMail>;
  clear(): void;
  close(): Promise<void>;
}

export interface MailCatcherOptions {
  host?: string;
  /** 0 = random free port */
  smtpPort?: number;
  /** 0 = random free port; undefined/null = no web inbox */
  httpPort?: number | null;
  /** Return a code to refuse the mail at end of DATA (e.g. 450, 550); it is then not stored. */
  reply?: (envelope: { from: string; to: string[] }) => { code: number; message: string } | undefined;
}

const MAX_MESSAGES = 500;
const MAX_SIZE = 10 * 1024 * 1024;

export async function startMailCatcher(opts: MailCatcherOptions = {}): Promise<MailCatcher> {
  const host = opts.host ?? '127.0.0.1';
  let store: CaughtMail[] = [];
  const waiters = new Set<{ pred: (m: CaughtMail) => boolean; resolve: (m: CaughtMail) => void }>();

  const smtp = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    size: MAX_SIZE,
    logger: false,
    // Tests close the catcher right after the last mail; don't let an idle client hold close() for 30 s.
    closeTimeout: 1000,
    onData(stream, session, callback) {
      const envelope = {
        from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
        to: session.envelope.rcptTo.map((r) => r.address),
      };
      readAll(stream)
        .then(async (raw) => {
          if (stream.sizeExceeded) return callback(smtpError(552, 'Message exceeds fixed maximum message size'));
          const refusal = opts.reply?.(envelope);
          if (refusal) return callback(smtpError(refusal.code, refusal.message));
          const mail = await toCaughtMail(raw, envelope);
          store.unshift(mail);
          if (store.length > MAX_MESSAGES) store.length = MAX_MESSAGES;
          for (const w of waiters) {
            if (w.pred(mail)) {
              waiters.delete(w);
              w.resolve(mail);
            }
          }
          callback(null, `Queued as ${mail.id}`);
        })
        .catch((err: unknown) => callback(err instanceof Error ? err : new Error(String(err))));
    },
  });
  smtp.on('error', () => {
    // Client-side protocol errors are the sender's problem; the catcher keeps running.
  });
  smtp.listen(opts.smtpPort ?? 0, host);
  await once(smtp.server, 'listening');
  const smtpPort = (smtp.server.address() as AddressInfo).port;

  let http: ServerType | undefined;
  let httpPort: number | undefined;
  if (opts.httpPort !== undefined && opts.httpPort !== null) {
    http = serve({ fetch: inboxApp(() => store, () => (store = [])).fetch, port: opts.httpPort, hostname: host });
    if (!http.listening) await once(http, 'listening');
    httpPort = (http.address() as AddressInfo).port;
  }

  const urlHost = host.includes(':') ? `[${host}]` : host;
  return {
    smtpPort,
    httpPort,
    smtpUrl: `smtp://${urlHost}:${smtpPort}`,
    inboxUrl: httpPort === undefined ? undefined : `http://${urlHost}:${httpPort}/`,
    messages: () => [...store],
    clear: () => {
      store = [];
    },
    waitFor(pred, timeoutMs = 5000) {
      const existing = [...store].reverse().find(pred);
      if (existing) return Promise.resolve(existing);
      return new Promise<CaughtMail>((resolve, reject) => {
        const waiter = {
          pred,
          resolve: (m: CaughtMail) => {
            clearTimeout(timer);
            resolve(m);
          },
        };
        const timer = setTimeout(() => {
          waiters.delete(waiter);
          reject(new Error(`No matching mail within ${timeoutMs} ms (${store.length} caught)`));
        }, timeoutMs);
        waiters.add(waiter);
      });
    },
    async close() {
      const closing: Promise<void>[] = [new Promise<void>((resolve) => smtp.close(() => resolve()))];
      if (http) {
        const server = http;
        closing.push(new Promise<void>((resolve) => server.close(() => resolve())));
        // fetch() keeps connections alive; without this close() would wait for them to time out.
        if ('closeAllConnections' in server) server.closeAllConnections();
      }
      await Promise.all(closing);
    },
  };
}

function smtpError(code: number, message: string): Error {
  return Object.assign(new Error(message), { responseCode: code });
}

async function readAll(stream: SMTPServerDataStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

async function toCaughtMail(raw: Buffer, envelope: { from: string; to: string[] }): Promise<CaughtMail> {
  const parsed = await simpleParser(raw);
  const headers: Record<string, string> = {};
  for (const { key, line } of parsed.headerLines) {
    const decoded = parsed.headers.get(key);
    // Structured headers (addresses, dates, content-type) are objects; their raw line reads better.
    const value =
      typeof decoded === 'string' ? decoded : line.slice(line.indexOf(':') + 1).replace(/\r?\n[ \t]+/g, ' ').trim();
    headers[key] = key in headers ? `${headers[key]}, ${value}` : value;
  }
  return {
    id: randomUUID(),
    from: envelope.from,
    to: envelope.to,
    subject: parsed.subject ?? '',
    html: typeof parsed.html === 'string' ? parsed.html : '',
    text: parsed.text ?? '',
    receivedAt: new Date().toISOString(),
    headers,
  };
}

// --- web inbox ---

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

function inboxApp(list: () => CaughtMail[], clear: () => void): Hono {
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
