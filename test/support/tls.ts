import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { TLSSocket } from 'node:tls';

/**
 * A throwaway PKI made with the `openssl` CLI (node:crypto cannot issue certificates): a CA,
 * a server certificate for `serverName` only (so a client must override the name it checks
 * when it dials 127.0.0.1), a client certificate for mTLS, and a second, unrelated CA.
 */
export interface TestPki {
  dir: string;
  caPath: string;
  otherCaPath: string;
  serverCertPath: string;
  serverKeyPath: string;
  clientCertPath: string;
  clientKeyPath: string;
  serverName: string;
}

export function makeTestPki(serverName = 'temporal.test'): TestPki {
  const dir = mkdtempSync(path.join(tmpdir(), 'temporal-tls-'));
  const at = (name: string) => path.join(dir, name);
  const openssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  const ca = (name: string) =>
    openssl('req', '-x509', ...ec, '-keyout', `${name}.key`, '-out', `${name}.pem`, '-days', '2', '-subj', `/CN=${name}`, '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign');
  const leaf = (name: string, subject: string, extensions: string) => {
    openssl('req', ...ec, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', subject);
    writeFileSync(at(`${name}.ext`), extensions);
    openssl('x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', `${name}.pem`, '-days', '2', '-extfile', `${name}.ext`);
  };
  ca('ca');
  ca('other-ca');
  leaf('server', `/CN=${serverName}`, `subjectAltName=DNS:${serverName}\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n`);
  leaf('client', '/CN=invitation-service', 'extendedKeyUsage=clientAuth\nbasicConstraints=CA:FALSE\n');
  return {
    dir,
    caPath: at('ca.pem'),
    otherCaPath: at('other-ca.pem'),
    serverCertPath: at('server.pem'),
    serverKeyPath: at('server.key'),
    clientCertPath: at('client.pem'),
    clientKeyPath: at('client.key'),
    serverName,
  };
}

export interface TlsFrontend {
  address: string;
  /** Client certificate subjects of the TLS sessions that got through, one per connection. */
  clientSubjects: string[];
  /** The `user-agent` of every RPC that reached the server (grpc-js for clients, Core's for workers). */
  userAgents: Set<string>;
  /** RPCs refused for a missing or wrong API key. */
  refused: number;
  close(): Promise<void>;
}

/**
 * A TLS front for the plaintext dev server, as a real cluster or Temporal Cloud would be: it
 * requires a client certificate from `pki`'s CA (mTLS), and, with `apiKey`, the header
 * `authorization: Bearer <apiKey>` on every RPC (else UNAUTHENTICATED, as Temporal Cloud).
 * gRPC passes through as HTTP/2 streams, trailers included.
 */
export async function startTlsFrontend(options: { upstream: string; pki: TestPki; apiKey?: string }): Promise<TlsFrontend> {
  const { pki } = options;
  const upstream = http2.connect(`http://${options.upstream}`);
  upstream.on('error', () => {});
  const frontend: Omit<TlsFrontend, 'address' | 'close'> = { clientSubjects: [], userAgents: new Set(), refused: 0 };
  const server = http2.createSecureServer({
    key: readFileSync(pki.serverKeyPath),
    cert: readFileSync(pki.serverCertPath),
    ca: readFileSync(pki.caPath),
    requestCert: true,
    rejectUnauthorized: true,
    allowHTTP1: false,
  });
  server.on('secureConnection', (socket: TLSSocket) => {
    frontend.clientSubjects.push(String(socket.getPeerCertificate().subject?.CN ?? ''));
  });
  server.on('stream', (stream, headers) => {
    stream.on('error', () => {});
    if (options.apiKey !== undefined && headers.authorization !== `Bearer ${options.apiKey}`) {
      frontend.refused++;
      stream.respond({ ':status': 200, 'content-type': 'application/grpc', 'grpc-status': '16', 'grpc-message': 'missing or wrong API key' }, { endStream: true });
      return;
    }
    frontend.userAgents.add(String(headers['user-agent'] ?? ''));
    const forwarded: http2.OutgoingHttpHeaders = {};
    for (const [name, value] of Object.entries(headers)) {
      if (!name.startsWith(':') || name === ':method' || name === ':path') forwarded[name] = value;
    }
    const call = upstream.request(forwarded);
    call.on('error', () => stream.close(http2.constants.NGHTTP2_INTERNAL_ERROR));
    stream.pipe(call);
    let trailers: http2.OutgoingHttpHeaders = {};
    call.on('response', (responseHeaders) => {
      const own = Object.fromEntries(Object.entries(responseHeaders).filter(([name]) => name !== ':status'));
      // A trailers-only answer (an error) ends with its headers.
      if ('grpc-status' in responseHeaders) stream.respond({ ':status': 200, ...own }, { endStream: true });
      else stream.respond({ ':status': 200, ...own }, { waitForTrailers: true });
    });
    call.on('trailers', (received) => (trailers = { ...received }));
    stream.on('wantTrailers', () => stream.sendTrailers(trailers));
    call.on('data', (chunk: Buffer) => stream.write(chunk));
    call.on('end', () => {
      if (!stream.closed && !stream.writableEnded) stream.end();
    });
    stream.on('close', () => {
      if (!call.closed) call.close(http2.constants.NGHTTP2_CANCEL);
    });
  });
  server.on('sessionError', () => {});
  server.on('tlsClientError', () => {});
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const sessions = new Set<http2.ServerHttp2Session>();
  server.on('session', (session) => {
    sessions.add(session);
    session.on('close', () => sessions.delete(session));
  });
  return Object.assign(frontend, {
    address: `127.0.0.1:${(server.address() as AddressInfo).port}`,
    async close() {
      for (const session of sessions) session.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      upstream.destroy();
    },
  });
}
