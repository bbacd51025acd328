import { randomBytes } from 'node:crypto';
import { readFileSync, rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it, inject } from 'vitest';
import { createApp } from '../src/api/app.js';
import { ConfigError, loadConfig } from '../src/config.js';
import { startMailCatcher, type MailCatcher } from '../src/dev/mail-catcher.js';
import { createLogger } from '../src/log.js';
import { createSmtpMailer } from '../src/mail/mailer.js';
import { createSecretBox } from '../src/mail/secret-box.js';
import { connectTemporal, loadPayloadCodec } from '../src/runtime.js';
import { temporalTransport } from '../src/temporal/connection.js';
import { connectWorkerTemporal, createInvitationWorker, type InvitationWorker } from '../src/temporal/worker.js';
import { ADMIN_KEY, cloneDatabase, quietTemporalRuntime, testConfig } from './support/harness.js';
import { makeTestPki, startTlsFrontend, type TestPki, type TlsFrontend } from './support/tls.js';

/**
 * A real cluster or Temporal Cloud: TLS with a client certificate and an API key, configured by
 * environment and used by both the API's client and the worker. The dev server speaks only
 * plain gRPC (its CLI has no TLS flags), so the test puts a TLS front before it that demands a
 * client certificate of our CA and the API key on every call, as a cluster with mTLS and
 * Temporal Cloud do.
 */
let pki: TestPki;
const problemsOf = (env: Record<string, string>) => {
  try {
    loadConfig({ TEMPORAL_ADDRESS: 'temporal.example.com:7233', TEMPORAL_PAYLOAD_KEYS: `k:${randomBytes(32).toString('hex')}`, ...env });
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).problems.join('\n');
  }
  return '';
};

beforeAll(() => {
  pki = makeTestPki();
});
afterAll(() => rmSync(pki.dir, { recursive: true, force: true }));

describe('Temporal connection settings', () => {
  it('refuse half a certificate pair, naming the missing half', () => {
    expect(problemsOf({ TEMPORAL_TLS_CERT_PATH: pki.clientCertPath })).toMatch(/TEMPORAL_TLS_CERT_PATH\/_DATA is set without TEMPORAL_TLS_KEY_PATH/);
    expect(problemsOf({ TEMPORAL_TLS_KEY_PATH: pki.clientKeyPath })).toMatch(/TEMPORAL_TLS_KEY_PATH\/_DATA is set without TEMPORAL_TLS_CERT_PATH/);
  });

  it('refuse a file that cannot be read, naming the variable and the path', () => {
    const problems = problemsOf({ TEMPORAL_TLS_CERT_PATH: '/nonexistent/client.pem', TEMPORAL_TLS_KEY_PATH: pki.clientKeyPath });
    expect(problems).toContain('TEMPORAL_TLS_CERT_PATH (/nonexistent/client.pem): cannot read the file: ENOENT');
  });

  it('refuse what is not PEM, a key of another certificate, and one thing given two ways', () => {
    expect(problemsOf({ TEMPORAL_TLS_CA_DATA: 'not a certificate' })).toContain('TEMPORAL_TLS_CA_DATA: not PEM');
    expect(problemsOf({ TEMPORAL_TLS_CERT_PATH: pki.clientCertPath, TEMPORAL_TLS_KEY_PATH: pki.serverKeyPath })).toContain('the private key does not belong to the client certificate');
    expect(problemsOf({ TEMPORAL_TLS_CA_PATH: pki.caPath, TEMPORAL_TLS_CA_DATA: readFileSync(pki.caPath, 'utf8') })).toContain('TEMPORAL_TLS_CA_PATH and TEMPORAL_TLS_CA_DATA are both set');
    expect(problemsOf({ TEMPORAL_TLS: 'false', TEMPORAL_TLS_CA_PATH: pki.caPath })).toContain('TEMPORAL_TLS=false contradicts');
  });

  it('refuse TLS settings for the embedded dev server, which has no TLS', () => {
    const problems = (() => {
      try {
        loadConfig({ TEMPORAL_API_KEY: 'key' });
        return '';
      } catch (error) {
        return (error as ConfigError).problems.join('\n');
      }
    })();
    expect(problems).toContain('TEMPORAL_API_KEY: only with TEMPORAL_ADDRESS');
  });

  it('turn into the connection options: an API key alone means TLS, PEM text may come with \\n escapes', () => {
    const cloud = loadConfig({ TEMPORAL_ADDRESS: 'ns.acct.tmprl.cloud:7233', TEMPORAL_PAYLOAD_KEYS: `k:${randomBytes(32).toString('hex')}`, TEMPORAL_API_KEY: 'cloud-key' });
    expect(temporalTransport(cloud)).toEqual({ tls: {}, apiKey: 'cloud-key' });
    expect(temporalTransport(testConfig())).toEqual({});

    const oneLine = (file: string) => readFileSync(file, 'utf8').replace(/\n/g, '\\n');
    const mtls = testConfig({
      TEMPORAL_ADDRESS: '127.0.0.1:7233',
      TEMPORAL_TLS_CERT_DATA: oneLine(pki.clientCertPath),
      TEMPORAL_TLS_KEY_DATA: oneLine(pki.clientKeyPath),
      TEMPORAL_TLS_CA_PATH: pki.caPath,
      TEMPORAL_TLS_SERVER_NAME: 'temporal.test',
    });
    const { tls } = temporalTransport(mtls);
    expect(Buffer.from(tls!.clientCertPair!.crt).toString()).toBe(readFileSync(pki.clientCertPath, 'utf8'));
    expect(Buffer.from(tls!.serverRootCACertificate!).toString()).toBe(readFileSync(pki.caPath, 'utf8'));
    expect(tls!.serverNameOverride).toBe('temporal.test');
  });
});

describe('the API client and the worker over mTLS with an API key', () => {
  let frontend: TlsFrontend;
  let mail: MailCatcher;
  let database: Awaited<ReturnType<typeof cloneDatabase>>;
  const apiKey = `key-${randomBytes(8).toString('hex')}`;
  const tlsEnv = () => ({
    TEMPORAL_ADDRESS: frontend.address,
    TEMPORAL_TLS_CERT_PATH: pki.clientCertPath,
    TEMPORAL_TLS_KEY_PATH: pki.clientKeyPath,
    TEMPORAL_TLS_CA_PATH: pki.caPath,
    TEMPORAL_TLS_SERVER_NAME: pki.serverName,
    TEMPORAL_API_KEY: apiKey,
  });

  beforeAll(async () => {
    quietTemporalRuntime();
    frontend = await startTlsFrontend({ upstream: inject('temporalAddress'), pki, apiKey });
    mail = await startMailCatcher({ smtpPort: 0, httpPort: null });
    database = await cloneDatabase();
  });
  afterAll(async () => {
    await frontend?.close();
    await mail?.close();
    await database?.drop();
  });

  it('invites a user end to end through the TLS front: client and worker both present the certificate and the key', async () => {
    const config = testConfig({ ...tlsEnv(), SMTP_URL: mail.smtpUrl });
    const codec = loadPayloadCodec(config);
    const client = await connectTemporal(config, config.TEMPORAL_ADDRESS!, codec);
    const connection = await connectWorkerTemporal(config, config.TEMPORAL_ADDRESS!);
    const mailer = createSmtpMailer(mail.smtpUrl, config);
    let worker: InvitationWorker | undefined;
    try {
      worker = await createInvitationWorker({
        connection,
        namespace: config.TEMPORAL_NAMESPACE,
        taskQueue: config.TEMPORAL_TASK_QUEUE,
        deps: { db: database.handle.db, mailer, secretBox: createSecretBox(Buffer.from(config.EMAIL_ENCRYPTION_KEY!, 'hex')), config },
        payloadCodec: codec,
        workflowBundle: { codePath: inject('workflowBundlePath') },
      });
      const running = worker.run();
      const app = createApp({ db: database.handle.db, temporal: client, config, log: createLogger('silent'), adminKeys: [ADMIN_KEY] });
      const res = await app.request('/api/v1/invitations', {
        method: 'POST',
        headers: { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'application/json' },
        body: JSON.stringify({ username: 'tls.user', email: 'tls.user@example.com', userType: 'member' }),
      });
      expect(res.status, await res.clone().text()).toBe(201);
      await mail.waitFor((m) => m.to.includes('tls.user@example.com'), 30_000);

      // Only the front knows the dev server: both sides went through it, with our certificate.
      expect(frontend.clientSubjects.length).toBeGreaterThanOrEqual(2);
      expect(new Set(frontend.clientSubjects)).toEqual(new Set(['invitation-service']));
      const agents = [...frontend.userAgents].join(' | ');
      expect(agents).toMatch(/grpc-node-js/); // the API's client (grpc-js)
      expect(agents).toMatch(/temporal-core|tonic/); // the worker (Core, in Rust)
      expect(frontend.refused).toBe(0);
      worker.shutdown();
      await running;
    } finally {
      if (worker?.getState() === 'RUNNING') worker.shutdown();
      mailer.close();
      await connection.close();
      await client.connection.close();
    }
  });

  it('fails at connect, saying why, with a CA that did not sign the server certificate', { timeout: 60_000 }, async () => {
    const config = testConfig({ ...tlsEnv(), TEMPORAL_TLS_CA_PATH: pki.otherCaPath });
    const codec = loadPayloadCodec(config);
    // grpc-js alone would say only "Failed to connect before the deadline".
    await expect(connectTemporal(config, config.TEMPORAL_ADDRESS!, codec)).rejects.toThrow(
      `Could not connect to Temporal at ${frontend.address} (mTLS, server name temporal.test, API key): TLS handshake failed: SELF_SIGNED_CERT_IN_CHAIN`,
    );
    await expect(connectWorkerTemporal(config, config.TEMPORAL_ADDRESS!)).rejects.toThrow(/InvalidCertificate\(UnknownIssuer\)/);
  });

  it('is refused without a client certificate, and with a wrong API key', { timeout: 60_000 }, async () => {
    const { TEMPORAL_TLS_CERT_PATH: _c, TEMPORAL_TLS_KEY_PATH: _k, ...noCert } = tlsEnv();
    const withoutCert = testConfig(noCert);
    // TLS 1.3: the server's "certificate required" alert races the client's first request, so
    // the worker's Core sees either the alert or the connection the server closed after it
    // (a broken pipe, or under load hyper's "connection closed").
    await expect(connectWorkerTemporal(withoutCert, withoutCert.TEMPORAL_ADDRESS!)).rejects.toThrow(/CertificateRequired|broken pipe|connection closed/i);
    await expect(connectTemporal(withoutCert, withoutCert.TEMPORAL_ADDRESS!, loadPayloadCodec(withoutCert))).rejects.toThrow(/TLS handshake failed: .*certificate required/i);

    const wrongKey = testConfig({ ...tlsEnv(), TEMPORAL_API_KEY: 'wrong' });
    const refusedBefore = frontend.refused;
    await expect(connectWorkerTemporal(wrongKey, wrongKey.TEMPORAL_ADDRESS!)).rejects.toThrow(/missing or wrong API key/);
    await expect(connectTemporal(wrongKey, wrongKey.TEMPORAL_ADDRESS!, loadPayloadCodec(wrongKey))).rejects.toThrow(/missing or wrong API key/);
    expect(frontend.refused).toBeGreaterThan(refusedBefore);
  });
});
