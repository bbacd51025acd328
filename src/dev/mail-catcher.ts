import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { once } from 'node:events';
import { serve, type ServerType } from '@hono/node-server';
import { simpleParser } from 'mailparser';
import { SMTPServer, type SMTPServerDataStream } from 'smtp-server';
import { inboxApp } from './mail-inbox.js';

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
  /** Return true to take a connection and never say a word (a hung server): the client must time out. */
  hang?: () => boolean;
  /**
   * Milliseconds to wait, once a mail's data is in, before the final answer (a slow server).
   * A client that hangs up meanwhile gets nothing stored: without our "250" the server never
   * took the mail over (RFC 5321 §6.1), and the client must try again.
   */
  answerDelayMs?: (envelope: { from: string; to: string[] }) => number;
  /** Called with every stored mail, beyond the MAX_MESSAGES the store keeps (the capacity bench counts thousands). */
  onMail?: (mail: CaughtMail) => void;
  /**
   * A JSON file that keeps the caught mails across restarts (`npm start`: DATA_DIR), so a link
   * mailed before a restart can still be opened after it. Unset: memory only (tests).
   */
  storeFile?: string;
}

const MAX_MESSAGES = 500;
const MAX_SIZE = 10 * 1024 * 1024;

export async function startMailCatcher(opts: MailCatcherOptions = {}): Promise<MailCatcher> {
  const host = opts.host ?? '127.0.0.1';
  let store: CaughtMail[] = opts.storeFile ? loadStore(opts.storeFile) : [];
  // Whole-file writes through a temporary file and a rename: a crash leaves the old or the new list, never half of one.
  const persist = () => {
    if (!opts.storeFile) return;
    mkdirSync(path.dirname(opts.storeFile), { recursive: true });
    writeFileSync(`${opts.storeFile}.tmp`, JSON.stringify(store), { mode: 0o600 });
    renameSync(`${opts.storeFile}.tmp`, opts.storeFile);
  };
  const waiters = new Set<{ pred: (m: CaughtMail) => boolean; resolve: (m: CaughtMail) => void }>();
  const closedSessions = new Set<string>();

  const smtp = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    size: MAX_SIZE,
    logger: false,
    // Tests close the catcher right after the last mail; don't let an idle client hold close() for 30 s.
    closeTimeout: 1000,
    onConnect(_session, callback) {
      // Not calling back means no greeting, ever; close() drops such connections after closeTimeout.
      if (!opts.hang?.()) callback();
    },
    onClose(session) {
      if (opts.answerDelayMs) closedSessions.add(session.id);
    },
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
          const delay = opts.answerDelayMs?.(envelope) ?? 0;
          for (const until = Date.now() + delay; Date.now() < until && !closedSessions.has(session.id); ) {
            await new Promise((resolve) => setTimeout(resolve, Math.min(100, until - Date.now())));
          }
          if (closedSessions.has(session.id)) return callback(smtpError(421, 'Client went away before the answer'));
          const mail = await toCaughtMail(raw, envelope);
          store.unshift(mail);
          opts.onMail?.(mail);
          if (store.length > MAX_MESSAGES) store.length = MAX_MESSAGES;
          persist();
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
    http = serve({ fetch: inboxApp(() => store, () => ((store = []), persist())).fetch, port: opts.httpPort, hostname: host });
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
      persist();
    },
    waitFor(pred, timeoutMs = 15_000) {
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

/** The mails a previous run kept; an unreadable file is a fresh start, not a failure (it is only a dev inbox). */
function loadStore(file: string): CaughtMail[] {
  if (!existsSync(file)) return [];
  try {
    const list: unknown = JSON.parse(readFileSync(file, 'utf8'));
    return Array.isArray(list) ? (list as CaughtMail[]).slice(0, MAX_MESSAGES) : [];
  } catch {
    return [];
  }
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
