import { spawn, spawnSync } from 'node:child_process';
import { accessSync, constants, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Schemathesis lives in its own virtualenv under ./.tools, installed by
 * `npm run setup:schemathesis` (and by .ci/run). The pin is read from that script so the
 * version is written in one place only.
 */
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const setupScript: string = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')).scripts['setup:schemathesis'];
export const SCHEMATHESIS_VERSION = /schemathesis==([\w.]+)/.exec(setupScript)?.[1] ?? 'unpinned';
export const schemathesisBin = process.env.SCHEMATHESIS_PATH ?? path.join(root, '.tools', 'schemathesis', 'bin', 'st');

const HOW_TO_INSTALL = `Install it with: npm run setup:schemathesis   (a virtualenv in .tools/schemathesis with schemathesis==${SCHEMATHESIS_VERSION} from PyPI)`;

/** Throws a message that says how to install it when the pinned schemathesis is not there. */
export function requireSchemathesis(): string {
  try {
    accessSync(schemathesisBin, constants.X_OK);
  } catch {
    throw new Error(`schemathesis is not installed at ${schemathesisBin}.\n${HOW_TO_INSTALL}`);
  }
  const version = spawnSync(schemathesisBin, ['--version'], { encoding: 'utf8' });
  const found = /(\d+\.\d+\.\d+)/.exec(version.stdout ?? '')?.[1];
  if (found !== SCHEMATHESIS_VERSION) {
    throw new Error(`${schemathesisBin} is schemathesis ${found ?? '(unknown)'}, the tests need ${SCHEMATHESIS_VERSION}.\n${HOW_TO_INSTALL}`);
  }
  return schemathesisBin;
}

export interface SchemathesisRun {
  exitCode: number | null;
  output: string;
  command: string[];
}

/** Runs `st run` with the given arguments; resolves with everything it printed. */
export function runSchemathesis(args: string[], options: { killAfterMs: number }): Promise<SchemathesisRun> {
  const command = [requireSchemathesis(), 'run', ...args];
  // Schemathesis keeps a replay cache in its working directory: not in the repository. The
  // curl line printed with each failure is the way to reproduce it.
  const workDir = mkdtempSync(path.join(tmpdir(), 'schemathesis-'));
  return new Promise((resolve, reject) => {
    const child = spawn(command[0]!, command.slice(1), {
      cwd: workDir,
      // Loopback only: no proxy may see (or reroute) the fuzzer's requests.
      env: { ...process.env, NO_PROXY: '*', no_proxy: '*', HTTP_PROXY: '', HTTPS_PROXY: '', http_proxy: '', https_proxy: '', PYTHONUNBUFFERED: '1', COLUMNS: '120' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    // --max-time bounds the fuzzing itself; this is only the backstop if it hangs.
    const backstop = setTimeout(() => child.kill('SIGKILL'), options.killAfterMs);
    child.once('error', reject);
    child.once('close', (exitCode) => {
      clearTimeout(backstop);
      rmSync(workDir, { recursive: true, force: true });
      resolve({ exitCode, output, command });
    });
  });
}
