import { X509Certificate, createPrivateKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { connect as tlsConnect } from 'node:tls';
import { isIP } from 'node:net';
import type { TLSConfig } from '@temporalio/client';

/**
 * How every process (API client, worker) reaches a real Temporal cluster or Temporal Cloud:
 * TLS with an optional client certificate (mTLS), an optional CA and server name, and an
 * optional API key (sent as `Authorization: Bearer …`). The API and the worker take the same
 * settings from here, so they cannot drift apart.
 *
 * Certificates come by path (`TEMPORAL_TLS_*_PATH`, e.g. a mounted secret) or as PEM text
 * (`TEMPORAL_TLS_*_DATA`, the Temporal CLI's names for the same thing); `\n` escapes in PEM
 * text are read as line breaks, for `.env` files that hold one line per variable.
 */
export interface TemporalTransportSettings {
  TEMPORAL_ADDRESS?: string | undefined;
  TEMPORAL_TLS?: 'true' | 'false' | undefined;
  TEMPORAL_TLS_CERT_PATH?: string | undefined;
  TEMPORAL_TLS_CERT_DATA?: string | undefined;
  TEMPORAL_TLS_KEY_PATH?: string | undefined;
  TEMPORAL_TLS_KEY_DATA?: string | undefined;
  TEMPORAL_TLS_CA_PATH?: string | undefined;
  TEMPORAL_TLS_CA_DATA?: string | undefined;
  TEMPORAL_TLS_SERVER_NAME?: string | undefined;
  TEMPORAL_API_KEY?: string | undefined;
}

export interface TemporalTransport {
  /** Absent: plain gRPC (the dev server). */
  tls?: TLSConfig;
  apiKey?: string;
}

const NAMES = [
  'TEMPORAL_TLS',
  'TEMPORAL_TLS_CERT_PATH',
  'TEMPORAL_TLS_CERT_DATA',
  'TEMPORAL_TLS_KEY_PATH',
  'TEMPORAL_TLS_KEY_DATA',
  'TEMPORAL_TLS_CA_PATH',
  'TEMPORAL_TLS_CA_DATA',
  'TEMPORAL_TLS_SERVER_NAME',
  'TEMPORAL_API_KEY',
] as const;

/** The settings' problems, each naming its variable; empty when the transport can be built. */
export function temporalTransportProblems(settings: TemporalTransportSettings): string[] {
  return resolve(settings).problems;
}

/** The connection options' TLS and API key; throws on a problem (loadConfig reports them first). */
export function temporalTransport(settings: TemporalTransportSettings): TemporalTransport {
  const { transport, problems } = resolve(settings);
  if (problems.length) throw new Error(`Temporal connection settings:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  return transport;
}

/** For the start-up line: how this process connects, without any secret. */
export function describeTemporalTransport(transport: TemporalTransport): string {
  const parts = [transport.tls ? (transport.tls.clientCertPair ? 'mTLS' : 'TLS') : 'plaintext'];
  if (transport.tls?.serverNameOverride) parts.push(`server name ${transport.tls.serverNameOverride}`);
  if (transport.apiKey) parts.push('API key');
  return parts.join(', ');
}

function resolve(s: TemporalTransportSettings): { transport: TemporalTransport; problems: string[] } {
  const problems: string[] = [];
  const used = NAMES.filter((name) => s[name] !== undefined);
  if (used.length && !s.TEMPORAL_ADDRESS) {
    // npm start's embedded dev server speaks plain gRPC: these would only make it unreachable.
    return { transport: {}, problems: [`${used.join(', ')}: only with TEMPORAL_ADDRESS (the embedded dev server has no TLS)`] };
  }
  const cert = pem(s, 'CERT', 'CERTIFICATE', problems);
  const key = pem(s, 'KEY', 'PRIVATE KEY', problems);
  const ca = pem(s, 'CA', 'CERTIFICATE', problems);
  if (cert && !key) problems.push('TEMPORAL_TLS_CERT_PATH/_DATA is set without TEMPORAL_TLS_KEY_PATH/_DATA: a client certificate needs its private key');
  if (key && !cert) problems.push('TEMPORAL_TLS_KEY_PATH/_DATA is set without TEMPORAL_TLS_CERT_PATH/_DATA: a private key needs its client certificate');
  if (cert && key) checkPair(cert, key, problems);

  const wantsTls = Boolean(cert || key || ca || s.TEMPORAL_TLS_SERVER_NAME);
  if (s.TEMPORAL_TLS === 'false' && wantsTls) {
    problems.push('TEMPORAL_TLS=false contradicts the TEMPORAL_TLS_* certificate settings: remove one or the other');
  }
  // An API key alone means TLS too (Temporal Cloud), as in the SDK; TEMPORAL_TLS=false turns it
  // off for a plaintext hop to a local proxy that terminates TLS.
  const tlsOn = s.TEMPORAL_TLS === 'true' || wantsTls || (s.TEMPORAL_API_KEY !== undefined && s.TEMPORAL_TLS !== 'false');
  const transport: TemporalTransport = {};
  if (tlsOn) {
    transport.tls = {
      ...(cert && key ? { clientCertPair: { crt: cert, key } } : {}),
      ...(ca ? { serverRootCACertificate: ca } : {}),
      ...(s.TEMPORAL_TLS_SERVER_NAME ? { serverNameOverride: s.TEMPORAL_TLS_SERVER_NAME } : {}),
    };
  }
  if (s.TEMPORAL_API_KEY !== undefined) transport.apiKey = s.TEMPORAL_API_KEY;
  return { transport, problems };
}

function pem(s: TemporalTransportSettings, part: 'CERT' | 'KEY' | 'CA', label: string, problems: string[]): Buffer | undefined {
  const pathName = `TEMPORAL_TLS_${part}_PATH` as const;
  const dataName = `TEMPORAL_TLS_${part}_DATA` as const;
  const path = s[pathName];
  const data = s[dataName];
  if (path !== undefined && data !== undefined) {
    problems.push(`${pathName} and ${dataName} are both set: give the ${part.toLowerCase()} one way`);
    return undefined;
  }
  let text: string;
  let from: string;
  if (path !== undefined) {
    from = `${pathName} (${path})`;
    try {
      text = readFileSync(path, 'utf8');
    } catch (error) {
      problems.push(`${from}: cannot read the file: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
      return undefined;
    }
  } else if (data !== undefined) {
    from = dataName;
    text = data.replace(/\\n/g, '\n');
  } else {
    return undefined;
  }
  // "PRIVATE KEY" matches PKCS#8, "RSA PRIVATE KEY" and "EC PRIVATE KEY" alike.
  if (!new RegExp(`-----BEGIN [A-Z ]*${label}-----`).test(text)) {
    problems.push(`${from}: not PEM (expected a "-----BEGIN …${label}-----" block)`);
    return undefined;
  }
  return Buffer.from(text, 'utf8');
}

/** A certificate that does not match its key fails only at the handshake, with a vague error: say it now. */
function checkPair(cert: Buffer, key: Buffer, problems: string[]) {
  let x509: X509Certificate;
  try {
    x509 = new X509Certificate(cert);
  } catch (error) {
    problems.push(`TEMPORAL_TLS_CERT_PATH/_DATA: not a readable certificate (${(error as Error).message})`);
    return;
  }
  try {
    if (!x509.checkPrivateKey(createPrivateKey(key))) {
      problems.push('TEMPORAL_TLS_KEY_PATH/_DATA: the private key does not belong to the client certificate');
    }
  } catch (error) {
    problems.push(`TEMPORAL_TLS_KEY_PATH/_DATA: not a readable private key (${(error as Error).message})`);
  }
}

/**
 * grpc-js reports any TLS failure as "Failed to connect before the deadline". When a TLS
 * connection fails, one handshake of our own finds the reason (an unknown CA, a name
 * mismatch, a refused client certificate) so that the start-up error says it.
 */
export async function explainConnectFailure(error: unknown, address: string, transport: TemporalTransport): Promise<Error> {
  // The SDK wraps the server's answer (UNAUTHENTICATED: a wrong API key) in "Failed to connect".
  const messages: string[] = [];
  for (let e: any = error; e && messages.length < 4; e = e.cause) messages.push(e.message ?? String(e));
  const message = messages.join(': ');
  if (!transport.tls) return new Error(`Could not connect to Temporal at ${address} (plaintext): ${message}`, { cause: error });
  const reason = await tlsHandshakeProblem(address, transport.tls);
  const how = describeTemporalTransport(transport);
  return new Error(`Could not connect to Temporal at ${address} (${how}): ${reason ? `TLS handshake failed: ${reason}` : message}`, { cause: error });
}

function tlsHandshakeProblem(address: string, tls: TLSConfig): Promise<string | undefined> {
  const match = /^\[?([^\]]+?)\]?:(\d+)$/.exec(address);
  if (!match) return Promise.resolve(undefined);
  const [, host, port] = match;
  const servername = tls.serverNameOverride ?? (isIP(host!) ? undefined : host);
  return new Promise((resolve) => {
    const socket = tlsConnect({
      host,
      port: Number(port),
      ...(servername ? { servername } : {}),
      ALPNProtocols: ['h2'],
      ...(tls.serverRootCACertificate ? { ca: Buffer.from(tls.serverRootCACertificate) } : {}),
      ...(tls.clientCertPair ? { cert: Buffer.from(tls.clientCertPair.crt), key: Buffer.from(tls.clientCertPair.key) } : {}),
      timeout: 5000,
    });
    const done = (problem: string | undefined) => {
      socket.destroy();
      resolve(problem);
    };
    // TLS 1.3 servers refuse a client certificate after the handshake: wait for that alert.
    socket.once('secureConnect', () => setTimeout(() => done(undefined), 300));
    socket.once('error', (e: NodeJS.ErrnoException) => done(`${e.code ? `${e.code}: ` : ''}${e.message}`));
    socket.once('timeout', () => done('no answer within 5 s'));
  });
}
