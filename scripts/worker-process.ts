import { readFileSync } from 'node:fs';

/**
 * What `npm run start:worker` gives the worker's node process (package.json): its V8 heap
 * limits and MALLOC_ARENA_MAX. Read from the script itself, so the bench measures the worker
 * and the tests run the worker exactly as it is started in production.
 */
export function workerProcessSettings(): { nodeArgs: string[]; env: Record<string, string> } {
  const script: string = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')).scripts['start:worker'];
  const nodeArgs = script.match(/--max-[a-z-]+=\S+/g) ?? [];
  const arenas = /MALLOC_ARENA_MAX=\$\{MALLOC_ARENA_MAX:-(\d+)\}/.exec(script)?.[1];
  if (nodeArgs.length === 0 || !arenas) throw new Error(`package.json start:worker no longer sets the heap flags and MALLOC_ARENA_MAX the bench and tests read: ${script}`);
  return { nodeArgs, env: { MALLOC_ARENA_MAX: process.env.MALLOC_ARENA_MAX ?? arenas } };
}

