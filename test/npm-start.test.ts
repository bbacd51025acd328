import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { afterAll, describe, expect, it } from 'vitest';
import { invitationWorkflowId } from '../src/workflows/invitation.messages.js';
import { eventually, linkFrom } from './support/harness.js';
import { freePort } from '../src/dev/ports.js';
import { loadConfig } from '../src/config.js';
import { devServerArgs } from '../src/dev/temporal-dev-server.js';
import { loadPayloadCodec } from '../src/runtime.js';
import { dataConverterFor } from '../src/temporal/payload-codec.js';

/**
 * `npm start` as a developer runs it: embedded PGlite, Temporal dev server with UI and the
 * mail catcher, all under one data folder; a restart keeps pending invitations.
 */
const dataDir = mkdtempSync(path.join(tmpdir(), 'invitations-start-'));
const children: ChildProcess[] = [];
afterAll(() => {
  for (const child of children) child.kill('SIGKILL');
  rmSync(dataDir, { recursive: true, force: true });
});

async function startService(env: Record<string, string>) {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    env: { ...process.env, DATA_DIR: dataDir, LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let output = '';
  child.stdout!.on('data', (d) => (output += d));
  child.stderr!.on('data', (d) => (output += d));
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  await Promise.race([
    eventually(async () => output.includes('Invitation service is running.'), 60_000, 'npm start banner'),
    exited.then((code) => Promise.reject(new Error(`npm start exited with ${code}:\n${output}`))),
  ]);
  return {
    output: () => output,
    async stop() {
      child.kill('SIGTERM');
      return exited;
    },
  };
}

describe('npm start', () => {
  it('runs the whole service on embedded defaults, and a restart keeps pending invitations', async () => {
    const ports = { PORT: await freePort(), TEMPORAL_DEV_PORT: await freePort(), TEMPORAL_UI_PORT: await freePort(), TEMPORAL_CODEC_PORT: await freePort(), MAILCATCHER_SMTP_PORT: await freePort(), MAILCATCHER_HTTP_PORT: await freePort(), METRICS_PORT: await freePort() };
    const env = Object.fromEntries(Object.entries(ports).map(([k, v]) => [k, String(v)]));
    const api = `http://127.0.0.1:${ports.PORT}`;
    const inbox = `http://127.0.0.1:${ports.MAILCATCHER_HTTP_PORT}`;

    const first = await startService({ ...env, ADMIN_API_KEY: '' });
    const banner = first.output();
    // The key made for local use is kept in the data folder, for its owner only; the output
    // names the file and never holds the key (issue 15.5).
    const keyFile = path.join(dataDir, 'admin-api.key');
    const key = readFileSync(keyFile, 'utf8').trim();
    expect(statSync(keyFile).mode & 0o777).toBe(0o600);
    expect(banner).toContain(`Admin API key  in ${keyFile}`);
    expect(banner).toContain(`Bearer $(cat ${keyFile})`);
    expect(banner).not.toContain(key);
    // The metrics are on their port, not on the public one.
    expect((await fetch(`${api}/metrics`)).status).toBe(404);
    expect(await (await fetch(`http://127.0.0.1:${ports.METRICS_PORT}/metrics`)).text()).toContain('http_request_duration_seconds');
    expect(banner).toContain(`http://localhost:${ports.TEMPORAL_UI_PORT}`);
    expect(banner).toContain(inbox);
    expect(banner).toContain('embedded PGlite');

    const res = await fetch(`${api}/api/v1/invitations`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'start.sam', email: 'sam@example.com', userType: 'member', locale: 'de' }),
    });
    expect(res.status).toBe(201);
    const { user } = (await res.json()) as { user: { id: string } };
    const mail = await eventually(async () => {
      const messages = (await (await fetch(`${inbox}/api/messages`)).json()) as Array<{ id: string; to: string[]; text: string }>;
      return messages.find((m) => m.to.includes('sam@example.com'));
    }, 20_000, 'the mail in the catcher');
    expect((await fetch(`${inbox}/`)).status).toBe(200);
    expect((await fetch(`http://127.0.0.1:${ports.TEMPORAL_UI_PORT}/`)).status).toBe(200);
    // The UI decodes the encrypted payloads through our codec endpoint.
    const codecEndpoint = `http://127.0.0.1:${ports.TEMPORAL_CODEC_PORT}`;
    expect(banner).toContain(codecEndpoint);
    const uiSettings = (await (await fetch(`http://127.0.0.1:${ports.TEMPORAL_UI_PORT}/api/v1/settings`)).json()) as { Codec: { Endpoint: string } };
    expect(uiSettings.Codec.Endpoint).toBe(codecEndpoint);
    expect((await fetch(`${api}/readyz`)).status).toBe(200);

    // The console's first steps, only from what the banner says: a staff user invited to the
    // inbox; its link, a password, and the console's sign-in.
    expect(banner).toContain(`Console        http://localhost:${ports.PORT}/console`);
    expect(banner).toContain('First staff user "admin" invited');
    const staffMail = await eventually(async () => {
      const messages = (await (await fetch(`${inbox}/api/messages`)).json()) as Array<{ to: string[]; text: string }>;
      return messages.find((m) => m.to.includes('admin@invitations.localhost'));
    }, 20_000, 'the first staff user\'s invitation');
    const staffAccept = await fetch(`${api}/api/v1/public/invitations/accept`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ token: linkFrom(staffMail.text).token, password: 'the first staff passphrase' }),
    });
    expect(staffAccept.status).toBe(200);
    const signIn = await fetch(`${api}/console/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin: api },
      body: new URLSearchParams({ login: 'admin', password: 'the first staff passphrase' }),
      redirect: 'manual',
    });
    expect(signIn.status).toBe(303);
    const consolePage = await fetch(`${api}/console/users`, { headers: { cookie: signIn.headers.get('set-cookie')!.split(';')[0]! }, redirect: 'manual' });
    expect(consolePage.status).toBe(200);
    // npm run invite in another terminal finds this service through the data folder.
    expect(JSON.parse(readFileSync(path.join(dataDir, 'service.json'), 'utf8')).url).toBe(`http://localhost:${ports.PORT}`);
    const exampleName = (banner: string) => /"username":"([^"]+)"/.exec(banner)![1]!;
    const firstExample = exampleName(banner);
    // The banner's example works as printed.
    const tried = await fetch(`${api}/api/v1/invitations`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ username: firstExample, email: `${firstExample}@example.com`, userType: 'member', locale: 'en' }),
    });
    expect(tried.status).toBe(201);
    expect(await first.stop()).toBe(0);
    expect(existsSync(path.join(dataDir, 'service.json'))).toBe(false);

    // Same data folder, same ports: the user and its waiting workflow are still there.
    const second = await startService({ ...env, ADMIN_API_KEY: 'a-fixed-admin-key-for-the-restart' });
    expect(second.output()).not.toContain('a-fixed-admin-key-for-the-restart');
    // A staff user exists now: nobody else is invited.
    expect(second.output()).toContain('Sign in as a staff user, e.g. "admin".');
    // A fresh example name, so the printed curl line does not answer 409 after a restart.
    expect(exampleName(second.output())).not.toBe(firstExample);
    // The inbox kept the mail of the first run (DATA_DIR/mail-catcher.json).
    const kept = (await (await fetch(`${inbox}/api/messages`)).json()) as Array<{ id: string }>;
    expect(kept.map((m) => m.id)).toContain(mail.id);
    // The payload key was created once in the data folder; the second run used it too.
    const temporal = new Client({
      connection: await Connection.connect({ address: `127.0.0.1:${ports.TEMPORAL_DEV_PORT}` }),
      dataConverter: dataConverterFor(loadPayloadCodec(loadConfig({ DATA_DIR: dataDir }))),
    });
    try {
      const handle = temporal.workflow.getHandle(invitationWorkflowId(user.id));
      expect((await handle.describe()).status.name).toBe('RUNNING');
      const started = (await handle.fetchHistory()).events![0]!.workflowExecutionStartedEventAttributes!;
      expect(Buffer.from(started.input!.payloads![0]!.metadata!.encoding!).toString()).toBe('binary/encrypted');
      const accept = await fetch(`${api}/api/v1/public/invitations/accept`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ token: linkFrom(mail.text).token, password: 'ein sehr gutes Passwort' }),
      });
      expect(accept.status).toBe(200);
      expect((await handle.result()).outcome).toBe('accepted');
      const old = await fetch(`${api}/api/v1/users`, { headers: { authorization: `Bearer ${key}` } });
      expect(old.status).toBe(401); // ADMIN_API_KEY replaces the local key
    } finally {
      await temporal.connection.close();
      await second.stop();
    }
  }, 150_000);

  it("hands the codec endpoint to the dev server's UI", () => {
    const args = devServerArgs({ port: 7233, uiPort: 8233, namespace: 'default', uiCodecEndpoint: 'http://127.0.0.1:8234' });
    expect(args.join(' ')).toContain('--ui-codec-endpoint http://127.0.0.1:8234');
  });

  it('says clearly what to do when no Temporal CLI can be had', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
      env: { ...process.env, DATA_DIR: mkdtempSync(path.join(tmpdir(), 'invitations-nocli-')), TEMPORAL_CLI_PATH: '/nonexistent/temporal', PORT: String(await freePort()) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout!.on('data', (d) => (output += d));
    child.stderr!.on('data', (d) => (output += d));
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    expect(code).not.toBe(0);
    expect(output).toContain('TEMPORAL_CLI_PATH=/nonexistent/temporal is not an executable file');
  }, 60_000);
});
