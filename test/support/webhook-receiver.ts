import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ReceivedWebhook {
  headers: IncomingHttpHeaders;
  body: string;
  json: { type: string; timestamp: string; data: Record<string, any> };
  /** What the receiver answered. */
  status: number;
}

/** A platform stand-in on 127.0.0.1: records every request and answers what `answer` says. */
export async function startWebhookReceiver(answer: (request: { count: number; eventId: string; json: ReceivedWebhook['json'] }) => number = () => 200) {
  const received: ReceivedWebhook[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      let json: ReceivedWebhook['json'];
      try {
        json = JSON.parse(body) as ReceivedWebhook['json'];
      } catch {
        json = { type: '(not json)', timestamp: '', data: {} };
      }
      const eventId = String(req.headers['webhook-id']);
      const status = answer({ count: received.filter((r) => r.headers['webhook-id'] === eventId).length + 1, eventId, json });
      received.push({ headers: req.headers, body, json, status });
      // A 3xx points elsewhere on this server: a client that followed it would be seen here.
      const headers = status >= 300 && status < 400 ? { 'content-type': 'text/plain', location: '/redirected' } : { 'content-type': 'text/plain' };
      res.writeHead(status, headers).end(status < 300 ? 'thanks' : `no luck (${status})`);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hooks`,
    port,
    received,
    /** Accepted requests (2xx) about one user, in arrival order. */
    acceptedFor: (userId: string) => received.filter((r) => r.status < 300 && r.json.data.userId === userId),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
