import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { bundleInvitationWorkflows } from '../src/temporal/bundle.js';

/**
 * `npm run build:workflows [out]`: the workflow bundle, built once ahead of time (default
 * dist/workflows.js). A worker started with WORKER_WORKFLOW_BUNDLE=<that file> loads it
 * instead of running webpack at start. Rebuild it with every deploy: a bundle older than the
 * workflow code would run the old code.
 */
const out = path.resolve(process.argv[2] ?? 'dist/workflows.js');
const bundle = await bundleInvitationWorkflows((message) => process.stderr.write(`${message}\n`));
mkdirSync(path.dirname(out), { recursive: true });
writeFileSync(out, bundle.code);
process.stdout.write(`workflow bundle: ${out} (${Math.round(bundle.code.length / 1024)} KiB)\n`);
