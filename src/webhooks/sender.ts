import http from 'node:http';
import https from 'node:https';
import { isIP, type LookupFunction } from 'node:net';
import { hostOf, isNonPublicAddress, type WebhookNetwork } from './address-policy.js';

export interface WebhookAnswer {
  status: number;
  /** The start of the receiver's answer, for the delivery log. */
  excerpt: string;
}

/** The receiver could not be reached, or the address was refused; no answer to log. */
export class WebhookSendError extends Error {
  constructor(message: string, readonly refused = false) {
    super(message);
    this.name = 'WebhookSendError';
  }
}

const EXCERPT_BYTES = 1024;

/**
 * POSTs one signed delivery. The address check runs on the address the socket is about to
 * use (a `lookup` of our own, or the literal itself), never on an earlier lookup, so a name
 * that resolves to a public address when saved and to 127.0.0.1 now is refused now. Redirects
 * are not followed (node:http never does): a 3xx is an answer like any other non-2xx.
 *
 * `timeoutMs` bounds the whole attempt, from the lookup to the last byte read: a receiver that
 * sends its headers and then a byte a second is cut off then (a per-read timeout would wait for
 * ever). `signal` aborts it sooner (the activity was cancelled or timed out in Temporal).
 */
export async function postWebhook(
  target: string,
  body: string,
  headers: Record<string, string>,
  options: { allowPrivate: boolean; network: WebhookNetwork; timeoutMs: number; signal?: AbortSignal },
): Promise<WebhookAnswer> {
  const url = new URL(target);
  const permitted = (address: string) =>
    (options.allowPrivate || !isNonPublicAddress(address)) && (options.network.mayConnect?.(address) ?? true);
  const host = hostOf(url);
  if (isIP(host) && !permitted(host)) throw new WebhookSendError(`refused: ${host} is not an address webhooks may reach`, true);
  options.signal?.throwIfAborted();

  const guardedLookup: LookupFunction = (hostname, lookupOptions, callback) => {
    options.network.resolve(hostname).then(
      (addresses) => {
        const wanted = lookupOptions.family === 4 || lookupOptions.family === 6 ? addresses.filter((a) => isIP(a) === lookupOptions.family) : addresses;
        const bad = wanted.find((a) => !permitted(a));
        if (bad || wanted.length === 0) {
          callback(new WebhookSendError(bad ? `refused: ${hostname} resolves to ${bad}` : `${hostname} does not resolve`, Boolean(bad)), '', 4);
          return;
        }
        if (lookupOptions.all) (callback as unknown as (e: null, a: { address: string; family: number }[]) => void)(null, wanted.map((a) => ({ address: a, family: isIP(a) })));
        else callback(null, wanted[0]!, isIP(wanted[0]!));
      },
      (error: Error) => callback(error as NodeJS.ErrnoException, '', 4),
    );
  };

  const client = url.protocol === 'https:' ? https : http;
  return new Promise<WebhookAnswer>((resolve, reject) => {
    // Settled once: the deadline or an abort wins over a late 'close' that would report the status.
    let settled = false;
    const settle = (outcome: () => void) => {
      if (settled) return;
      settled = true;
      clearTimeout(deadline);
      options.signal?.removeEventListener('abort', abort);
      outcome();
    };
    const fail = (error: WebhookSendError) => {
      settle(() => reject(error));
      request.destroy();
    };
    const deadline = setTimeout(() => fail(new WebhookSendError(`no complete answer within ${options.timeoutMs} ms`)), options.timeoutMs);
    const abort = () => fail(new WebhookSendError(`aborted: ${String(options.signal?.reason ?? 'cancelled')}`));
    options.signal?.addEventListener('abort', abort, { once: true });

    const request = client.request(
      url,
      {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'user-agent': 'invitation-service-webhooks/1', ...headers, 'content-length': Buffer.byteLength(body) },
        lookup: guardedLookup,
        // A fresh connection per delivery: a pooled socket would skip the address check.
        agent: false,
      },
      (response) => {
        const chunks: Buffer[] = [];
        let size = 0;
        response.on('data', (chunk: Buffer) => {
          if (size < EXCERPT_BYTES) chunks.push(chunk);
          size += chunk.length;
          // The log keeps an excerpt; the rest is not worth waiting for.
          if (size >= EXCERPT_BYTES) response.destroy();
        });
        const done = () => settle(() => resolve({ status: response.statusCode ?? 0, excerpt: Buffer.concat(chunks).subarray(0, EXCERPT_BYTES).toString('utf8') }));
        response.on('end', done);
        response.on('close', done);
        response.on('error', done);
      },
    );
    request.on('error', (error) => fail(error instanceof WebhookSendError ? error : new WebhookSendError(error.message)));
    request.end(body);
  });
}
