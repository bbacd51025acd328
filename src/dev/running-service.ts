import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/**
 * Where `npm start` is listening, for the tools run from another terminal (`npm run invite`):
 * that terminal does not share the PORT the service was started with. The file lives beside
 * the embedded data (DATA_DIR) and goes away when the service stops. It holds no key.
 */
const FILE = 'service.json';

export function recordRunningService(dataDir: string, url: string): () => void {
  const file = path.join(dataDir, FILE);
  writeFileSync(file, `${JSON.stringify({ url, pid: process.pid })}\n`);
  return () => rmSync(file, { force: true });
}

/** The service to talk to: INVITATIONS_URL, else the one `npm start` recorded, else PORT on localhost. */
export function runningServiceUrl(env: Record<string, string | undefined> = process.env): string {
  if (env.INVITATIONS_URL) return env.INVITATIONS_URL;
  try {
    const recorded = JSON.parse(readFileSync(path.join(env.DATA_DIR || '.data', FILE), 'utf8')) as { url?: unknown; pid?: unknown };
    if (typeof recorded.url === 'string' && typeof recorded.pid === 'number' && isAlive(recorded.pid)) return recorded.url;
  } catch {
    // No service recorded: fall back to PORT.
  }
  return `http://localhost:${env.PORT || 3000}`;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it runs, as another user.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
