import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { Connection } from '@temporalio/client';
import { searchAttributeDefinitions } from '../workflows/invitation.messages.js';
import { findTemporalCli } from './temporal-cli.js';

export interface DevServer {
  address: string;
  uiUrl: string;
  stop(): Promise<void>;
}

export interface DevServerOptions {
  dbFile?: string | undefined;
  port: number;
  uiPort: number;
  namespace: string;
  headless?: boolean;
  /** Where the UI's browser pages send payloads to be decoded (our codec endpoint). */
  uiCodecEndpoint?: string | undefined;
  log?: (line: string) => void;
}

export function devServerArgs(options: DevServerOptions): string[] {
  const args = ['server', 'start-dev', '--ip', '127.0.0.1', '--port', String(options.port), '--log-level', 'warn'];
  if (options.headless) args.push('--headless');
  else {
    args.push('--ui-port', String(options.uiPort), '--ui-ip', '127.0.0.1');
    if (options.uiCodecEndpoint) args.push('--ui-codec-endpoint', options.uiCodecEndpoint);
  }
  if (options.dbFile) args.push('--db-filename', options.dbFile);
  if (options.namespace !== 'default') args.push('--namespace', options.namespace);
  for (const attr of searchAttributeDefinitions) args.push('--search-attribute', `${attr.name}=${attr.type}`);
  return args;
}

/**
 * `temporal server start-dev` with its Web UI, persisted to a SQLite file so pending
 * invitations (and their timers) survive a restart, our search attributes registered.
 */
export async function startTemporalDevServer(options: DevServerOptions): Promise<DevServer> {
  const cli = findTemporalCli();
  if (options.dbFile) mkdirSync(options.dbFile.replace(/\/[^/]+$/, ''), { recursive: true });
  const args = devServerArgs(options);

  const child: ChildProcess = spawn(cli, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const collect = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-4000);
    options.log?.(chunk.toString());
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));

  const address = `127.0.0.1:${options.port}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`The Temporal dev server exited (${child.exitCode}):\n${output}`);
    try {
      const connection = await Connection.connect({ address, connectTimeout: 1000 });
      await connection.workflowService.getSystemInfo({});
      await connection.close();
      break;
    } catch (error) {
      if (Date.now() > deadline) {
        child.kill('SIGKILL');
        throw new Error(`The Temporal dev server did not come up on ${address} in 30 s:\n${output}`, { cause: error });
      }
      await new Promise((r) => setTimeout(r, 250));
    }
  }
  return {
    address,
    uiUrl: `http://localhost:${options.uiPort}`,
    async stop() {
      if (child.exitCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    },
  };
}
