import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Ajv } from 'ajv';
import postgres from 'postgres';
import { parse as parseYaml } from 'yaml';
import { afterAll, beforeAll, describe, expect, it, inject } from 'vitest';
import { CONFIG_VARIABLES, loadConfig } from '../src/config.js';
import { startMailCatcher, type MailCatcher } from '../src/dev/mail-catcher.js';
import { freePort } from '../src/dev/ports.js';
import { processStartProblems } from '../src/runtime.js';
import { commandOf, dockerignore, parseDockerfile, parseEnv, replayDockerBuild, type ReplayedImage } from '../scripts/container-build-check.js';
import { eventually } from './support/harness.js';

/**
 * Issue 17.7, containers, on a machine without Docker: the Dockerfile's build replayed step by
 * step (scripts/container-build-check.ts: its COPYs from the context as .dockerignore leaves
 * it, the same `npm ci`, `npm run build`, the runtime stage's production-only install), then
 * the runtime stage's files alone run with plain node: the API from the image's CMD, the
 * worker with compose's command, with compose's environment, against the run's Postgres
 * (an empty database: the image's migrations make it), Temporal and a mail catcher. An
 * invitation goes through, both health checks pass, both processes stop cleanly on SIGTERM.
 * compose.yaml is checked against the Compose Specification's JSON schema (vendored,
 * test/fixtures/compose-spec.md) and for what the schema cannot know: real setting names,
 * secrets only from the env file, pinned images, addresses that name its services.
 * Not run here: `docker build` itself (the base image, its npm) and `docker compose up`.
 */
const root = process.cwd();
const dockerfile = parseDockerfile(readFileSync('Dockerfile', 'utf8'));
const composeText = readFileSync('compose.yaml', 'utf8');
const compose = parseYaml(composeText, { merge: true }) as Compose;

interface ComposeService {
  image?: string;
  build?: unknown;
  command?: string[] | string;
  environment?: Record<string, string | number | boolean | null>;
  depends_on?: Record<string, { condition: string }>;
  healthcheck?: { test: string[] | string };
}
interface Compose {
  services: Record<string, ComposeService>;
}

/** Compose's interpolation: `${VAR}`, `${VAR:-default}`, `${VAR-default}`, `${VAR:?error}`, `${VAR?error}`, `$$`. */
function interpolate(value: string, vars: Record<string, string | undefined>): string {
  return value.replace(/\$\$|\$\{(\w+)(?:(:?)([-?])([^}]*))?\}|\$(\w+)/g, (whole, braced?: string, colon?: string, kind?: string, word?: string, bare?: string) => {
    if (whole === '$$') return '$';
    const name = (braced ?? bare)!;
    const set = vars[name];
    const missing = set === undefined || (colon === ':' && set === '');
    if (kind === '?' && missing) throw new Error(`required variable ${name} is missing a value: ${word}`);
    if (kind === '-' && missing) return word!;
    return set ?? '';
  });
}

function interpolateAll<T>(node: T, vars: Record<string, string | undefined>): T {
  if (typeof node === 'string') return interpolate(node, vars) as T;
  if (Array.isArray(node)) return node.map((n: unknown) => interpolateAll(n, vars)) as T;
  if (node && typeof node === 'object') return Object.fromEntries(Object.entries(node).map(([k, v]) => [k, interpolateAll(v, vars)])) as T;
  return node;
}

const runtimeStage = dockerfile.stages.at(-1)!;
const imageEnv: Record<string, string> = Object.assign({}, ...runtimeStage.instructions.filter((i) => i.op === 'ENV').map((i) => parseEnv(i.args, i.line)));
const serviceEnv = (service: ComposeService, vars: Record<string, string | undefined>) =>
  Object.fromEntries(Object.entries(interpolateAll(service.environment ?? {}, vars)).map(([k, v]) => [k, String(v)]));
/** Settings read by something other than src/config.ts: glibc. */
const NOT_CONFIG = new Set(['MALLOC_ARENA_MAX']);
const SECRETS = { api: ['EMAIL_ENCRYPTION_KEY', 'TEMPORAL_PAYLOAD_KEYS', 'ADMIN_API_KEY'], worker: ['EMAIL_ENCRYPTION_KEY', 'TEMPORAL_PAYLOAD_KEYS'] } as const;

/** What `.env` holds in the documented set-up: `npm run --silent keys` plus the two database passwords. */
function envFile(keysOutput: string): Record<string, string> {
  const vars: Record<string, string> = { POSTGRES_PASSWORD: randomBytes(12).toString('hex'), TEMPORAL_POSTGRES_PASSWORD: randomBytes(12).toString('hex') };
  for (const line of keysOutput.split('\n')) {
    const m = /^(\w+)=(.*)$/.exec(line);
    if (m) vars[m[1]!] = m[2]!;
  }
  return vars;
}

describe('compose.yaml', () => {
  const vars = envFile(spawnSync(process.execPath, ['--import', 'tsx', 'scripts/keys.ts'], { encoding: 'utf8' }).stdout);

  it('is valid against the Compose Specification schema', () => {
    const schema = JSON.parse(readFileSync('test/fixtures/compose-spec.json', 'utf8')) as Record<string, unknown>;
    // The schema names its draft by a URL Ajv does not know by that spelling; its custom
    // formats (durations, ports) are not checked, as docker compose checks them itself.
    const ajv = new Ajv({ strict: false, allErrors: true, validateFormats: false });
    delete schema.$schema;
    const validate = ajv.compile(schema);
    const valid = validate(interpolateAll(compose, vars));
    expect(validate.errors ?? [], 'schema errors').toEqual([]);
    expect(valid).toBe(true);
    // And the checker does reject a broken file (a misspelt key, a port list as a string).
    expect(validate({ services: { api: { imgae: 'x' } } })).toBe(false);
    expect(validate({ services: { api: { image: 'x', depends_on: 'postgres' } } })).toBe(false);
  });

  it('has the services of the issue: Temporal on its own Postgres, Postgres, a mail catcher, the API and the worker', () => {
    expect(Object.keys(compose.services).sort()).toEqual(['api', 'mail', 'postgres', 'temporal', 'temporal-postgres', 'temporal-ui', 'worker']);
    expect(compose.services.temporal!.environment!.POSTGRES_SEEDS).toBe('temporal-postgres');
    expect(compose.services.temporal!.environment!.DB).toBe('postgres12');
  });

  it('sets only real settings of src/config.ts on the api and the worker, and in the image', () => {
    const known = new Set(CONFIG_VARIABLES);
    for (const name of ['api', 'worker']) {
      const unknown = Object.keys(compose.services[name]!.environment ?? {}).filter((v) => !known.has(v) && !NOT_CONFIG.has(v));
      expect(unknown, `${name}: not settings`).toEqual([]);
    }
    expect(Object.keys(imageEnv).length).toBeGreaterThan(0);
    expect(Object.keys(imageEnv).filter((v) => !known.has(v) && !NOT_CONFIG.has(v))).toEqual([]);
  });

  it('gives each process everything its start checks ask for (src/runtime.ts), secrets included', () => {
    for (const role of ['api', 'worker'] as const) {
      const env = { ...imageEnv, ...serviceEnv(compose.services[role]!, vars) };
      expect(processStartProblems(loadConfig(env), role, env), role).toEqual([]);
    }
  });

  it('takes every secret from the env file, required, never a default or a literal', () => {
    for (const [role, secrets] of Object.entries(SECRETS)) {
      for (const secret of secrets) {
        expect(compose.services[role]!.environment![secret], `${role} ${secret}`).toMatch(new RegExp(`^\\$\\{${secret}:\\?[^}]+\\}$`));
        // Without it in the env file, compose stops with the message instead of starting.
        expect(() => serviceEnv(compose.services[role]!, { ...vars, [secret]: undefined })).toThrow(secret);
      }
    }
    // The database passwords likewise, wherever they appear.
    for (const [name, service] of Object.entries(compose.services)) {
      for (const [key, value] of Object.entries(service.environment ?? {})) {
        if (/PASSWORD|PWD|_KEYS?$|DATABASE_URL/.test(key)) expect(String(value), `${name} ${key}`).toMatch(/\$\{\w+:\?[^}]+\}/);
      }
    }
    expect(composeText).not.toContain(vars.EMAIL_ENCRYPTION_KEY);
  });

  it('pins every image it pulls, and the Dockerfile its Node image (the major version the service is built and tested on)', () => {
    for (const [name, service] of Object.entries(compose.services)) {
      if (service.build) continue;
      expect(service.image, name).toMatch(/^[\w./-]+:(?!latest$)[\w.-]*\d[\w.-]*$/);
    }
    const node = /^node:(\d+)\.(\d+)\.(\d+)-/.exec(dockerfile.args.NODE_IMAGE ?? '');
    expect(node, `NODE_IMAGE ${dockerfile.args.NODE_IMAGE}`).not.toBeNull();
    expect(node![1]).toBe(process.versions.node.split('.')[0]);
  });

  it('waits for healthy dependencies, and each one waited for has a health check', () => {
    expect(compose.services.api!.depends_on).toMatchObject({ postgres: { condition: 'service_healthy' }, temporal: { condition: 'service_healthy' } });
    expect(compose.services.worker!.depends_on).toMatchObject({ mail: { condition: 'service_healthy' } });
    for (const [name, service] of Object.entries(compose.services)) {
      for (const [dependency, { condition }] of Object.entries(service.depends_on ?? {})) {
        if (condition === 'service_healthy') expect(compose.services[dependency]?.healthcheck, `${name} waits for ${dependency}`).toBeDefined();
      }
    }
  });

  it('points the processes at its own services', () => {
    const hosts = new Set(Object.keys(compose.services));
    const env = { worker: serviceEnv(compose.services.worker!, vars), api: serviceEnv(compose.services.api!, vars) };
    for (const e of Object.values(env)) {
      expect(hosts).toContain(new URL(e.DATABASE_URL!).hostname);
      expect(hosts).toContain(e.TEMPORAL_ADDRESS!.split(':')[0]);
    }
    expect(hosts).toContain(new URL(env.worker.SMTP_URL!).hostname);
  });
});

describe('.dockerignore', () => {
  it('keeps local secrets, data and installed modules out of the build context', () => {
    const ignored = dockerignore(readFileSync('.dockerignore', 'utf8'));
    for (const p of ['.env', '.env.production', '.data/admin-api.key', 'node_modules/x/index.js', 'packages/client/node_modules/y', 'dist/worker.js', '.git/config']) expect(ignored(p), p).toBe(true);
    for (const p of ['package.json', 'src/api/server.ts', 'src/api/public/assets/app.css', 'scripts/build-assets.ts', '.env.example']) expect(ignored(p), p).toBe(p === '.env.example');
  });
});

describe('the image, built by replaying the Dockerfile, run with plain node', () => {
  let out: string;
  let image: ReplayedImage;
  let mail: MailCatcher;
  let admin: ReturnType<typeof postgres>;
  let database: string;
  let buildSeconds: number;
  const children: ChildProcess[] = [];
  const vars = envFile('');
  let env: Record<string, string>;

  beforeAll(async () => {
    out = mkdtempSync(path.join(tmpdir(), 'invitations-image-'));
    const started = Date.now();
    // npm's cache on this machine stands in for the cache mount; the registry is asked only
    // for what it lacks.
    image = replayDockerBuild({ context: root, out, runEnv: { npm_config_prefer_offline: 'true' } });
    buildSeconds = (Date.now() - started) / 1000;
    Object.assign(vars, envFile(spawnSync(process.execPath, ['dist/scripts/keys.js'], { cwd: image.workdir, encoding: 'utf8' }).stdout));
    admin = postgres(inject('pgAdminUrl'), { max: 1, onnotice: () => {} });
    database = `invitations_containers_${randomBytes(4).toString('hex')}`;
    await admin.unsafe(`create database ${database}`);
    mail = await startMailCatcher({ smtpPort: 0, httpPort: null });
    env = {
      DATABASE_URL: Object.assign(new URL(inject('pgAdminUrl')), { pathname: `/${database}` }).toString(),
      TEMPORAL_ADDRESS: inject('temporalAddress'),
      TEMPORAL_TASK_QUEUE: `containers-${randomBytes(4).toString('hex')}`,
      SMTP_URL: mail.smtpUrl,
      // Loopback and free ports on a shared machine, where compose has a network of its own.
      HOST: '127.0.0.1',
      PORT: String(await freePort()),
      TEMPORAL_CODEC_HOST: '127.0.0.1',
      TEMPORAL_CODEC_PORT: String(await freePort()),
      WORKER_METRICS_PORT: String(await freePort()),
    };
  }, 300_000);
  afterAll(async () => {
    for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
    await mail?.close();
    await admin?.unsafe(`drop database if exists ${database} with (force)`);
    await admin?.end();
    if (out) rmSync(out, { recursive: true, force: true });
  });

  /** A command of the image, in its WORKDIR, with only the image's files and node on PATH. */
  function run(command: string[], role: 'api' | 'worker', extra: Record<string, string> = {}) {
    const [file, ...args] = command;
    const child = spawn(file!, args, {
      cwd: image.workdir,
      env: { PATH: `${path.dirname(process.execPath)}:/usr/bin:/bin`, HOME: image.workdir, ...image.env, ...serviceEnv(compose.services[role]!, vars), ...env, LOG_LEVEL: 'info', ...extra },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout!.on('data', (d) => (output += d));
    child.stderr!.on('data', (d) => (output += d));
    children.push(child);
    return { child, output: () => output, exited: new Promise<number | null>((resolve) => child.once('exit', resolve)) };
  }

  const healthcheck = (test: string[], role: 'api' | 'worker', replace: [string, string] = ['', '']) => {
    const command = (test[0] === 'CMD' ? test.slice(1) : test).map((part) => part.replace(...replace));
    return spawnSync(command[0]!, command.slice(1), { cwd: image.workdir, env: { PATH: `${path.dirname(process.execPath)}:/usr/bin:/bin`, ...image.env, ...env }, encoding: 'utf8', timeout: 10_000 }).status;
  };

  it('holds compiled JavaScript and production dependencies only, and runs as a user other than root', () => {
    console.log(`Dockerfile replayed in ${buildSeconds.toFixed(1)} s`);
    expect(image.user).toBeDefined();
    expect(['root', '0']).not.toContain(image.user!.split(':')[0]);
    const sources = readdirSync(image.workdir, { withFileTypes: true })
      .filter((top) => top.name !== 'node_modules')
      .flatMap((top) => (top.isDirectory() ? (readdirSync(path.join(image.workdir, top.name), { recursive: true }) as string[]).map((f) => `${top.name}/${f}`) : [top.name]))
      .filter((f) => /\.tsx?$/.test(f));
    expect(sources).toEqual([]);
    expect(existsSync(path.join(image.workdir, 'dist/workflows.js'))).toBe(true);
    for (const dev of ['typescript', 'vitest', 'eslint', '@temporalio/testing']) expect(existsSync(path.join(image.workdir, 'node_modules', dev)), dev).toBe(false);
    for (const command of [image.cmd, commandOf(JSON.stringify(compose.services.worker!.command))]) {
      expect(command[0]).toBe('node');
      expect(command.join(' ')).not.toMatch(/tsx|\.ts\b/);
    }
    expect(image.healthcheck).toBeDefined();
    // The database driver carries the fix a connection cut needs (patches/, applied by npm ci's postinstall).
    expect(readFileSync(path.join(image.workdir, 'node_modules/postgres/src/connection.js'), 'utf8')).toContain('Patched (invitation service)');
  });

  it('starts the API from its CMD on an empty database, answers /healthz, /readyz and serves its assets; its health checks pass', async () => {
    const api = run(image.cmd, 'api');
    const base = `http://127.0.0.1:${env.PORT}`;
    await eventually(
      async () => {
        if (api.child.exitCode !== null) throw new Error(`the API exited with code ${api.child.exitCode}:\n${api.output()}`);
        return (await fetch(`${base}/readyz`).catch(() => undefined))?.ok;
      },
      60_000,
      'the API to be ready',
    );
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    for (const asset of ['/assets/app.css', '/assets/accept.js', '/console/assets/console.css', '/docs/assets/swagger-ui.css', '/api/v1/openapi.json']) {
      const response = await fetch(`${base}${asset}`);
      expect(response.status, asset).toBe(200);
      expect((await response.text()).length, asset).toBeGreaterThan(100);
    }
    expect(healthcheck(image.healthcheck!, 'api'), 'the image HEALTHCHECK').toBe(0);
    const composeTest = compose.services.api!.healthcheck!.test as string[];
    expect(composeTest.join(' ')).toContain('127.0.0.1:3000/');
    expect(healthcheck(composeTest, 'api', ['127.0.0.1:3000/', `127.0.0.1:${env.PORT}/`]), 'compose api healthcheck').toBe(0);
  }, 90_000);

  it("runs the worker with compose's command: an invitation's mail is sent; its health check passes", async () => {
    const worker = run(commandOf(JSON.stringify(compose.services.worker!.command)), 'worker');
    await eventually(
      async () => {
        if (worker.child.exitCode !== null) throw new Error(`the worker exited:\n${worker.output()}`);
        return worker.output().includes('worker polling');
      },
      60_000,
      'the worker to poll',
    );
    const username = `container.${randomBytes(3).toString('hex')}`;
    const response = await fetch(`http://127.0.0.1:${env.PORT}/api/v1/invitations`, {
      method: 'POST',
      headers: { authorization: `Bearer ${vars.ADMIN_API_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ username, email: `${username}@example.com`, userType: 'member', locale: 'en' }),
    });
    expect(response.status, await response.clone().text()).toBe(201);
    const sent = await mail.waitFor((m) => m.to.includes(`${username}@example.com`), 30_000);
    expect(sent.text).toContain('/invitations/accept');
    const composeTest = compose.services.worker!.healthcheck!.test as string[];
    expect(composeTest.join(' ')).toContain('127.0.0.1:9464/');
    expect(healthcheck(composeTest, 'worker', ['127.0.0.1:9464/', `127.0.0.1:${env.WORKER_METRICS_PORT}/`]), 'compose worker healthcheck').toBe(0);
  }, 90_000);

  it('stops both processes with exit code 0 on SIGTERM (docker stop)', async () => {
    const running = children.filter((c) => c.exitCode === null);
    expect(running).toHaveLength(2);
    const exits = running.map((c) => new Promise<number | null>((resolve) => c.once('exit', resolve)));
    for (const c of running) c.kill('SIGTERM');
    expect(await Promise.all(exits)).toEqual([0, 0]);
  }, 60_000);
});
