import { cpSync, readdirSync } from 'node:fs';
import path from 'node:path';

/**
 * Part of `npm run build`, after tsc: copies every file under src/ and emails/ that tsc does
 * not turn into JavaScript (the pages' and the console's CSS and scripts, the failure
 * converter the Temporal SDK require()s, …) to the same place under dist/, where the compiled
 * modules look for them beside themselves (`new URL('./assets/…', import.meta.url)`). Copying
 * by rule, not by list, so a new asset cannot be forgotten in the image.
 */
const compiled = /\.(?:ts|tsx)$/;
const root = process.cwd();
const out = path.resolve(process.argv[2] ?? 'dist');
let copied = 0;
for (const dir of ['src', 'emails']) {
  for (const entry of readdirSync(path.join(root, dir), { recursive: true, withFileTypes: true })) {
    if (!entry.isFile() || compiled.test(entry.name)) continue;
    const from = path.join(entry.parentPath, entry.name);
    cpSync(from, path.join(out, path.relative(root, from)));
    copied++;
  }
}
process.stdout.write(`build assets: ${copied} files copied to ${path.relative(root, out) || '.'}\n`);
