import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import ts from 'typescript';
import { configSchema } from '../src/config.js';

/**
 * `npm run docs:config`: docs/configuration.md, generated from src/config.ts. The zod schema
 * decides the names, their order and their defaults (what the code really does); the JSDoc
 * comment above each key says what it does, and its tags the rest:
 *
 *   @readBy api worker start   which processes read it (required)
 *   @required …                 when it must be set (text), if ever
 *   @unset …                    what happens without a value, for keys with no schema default
 *   @contract                   the name is part of the platform's API contract (api.md)
 *
 * Comments rather than zod `.describe()`: they stay readable where the code is, every key of
 * the spread groups keeps its own, and the metadata never reaches the validated config.
 * test/docs-configuration.test.ts regenerates the document and fails while it differs.
 */

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const configSourcePath = path.join(root, 'src/config.ts');
export const configDocPath = path.join(root, 'docs/configuration.md');

const PROCESSES = {
  api: 'API',
  worker: 'worker',
  start: '`npm start`',
} as const;
type Process = keyof typeof PROCESSES;

export interface SettingDoc {
  name: string;
  description: string;
  readBy: Process[];
  required?: string;
  unset?: string;
  contract: boolean;
  default?: string;
}

const oneLine = (text: string) => text.replace(/\s*\n\s*/g, ' ').trim();

/** Every `NAME: …` property in src/config.ts with the JSDoc above it, wherever its object literal is. */
function commentsByName(source: string): Map<string, ts.JSDoc | undefined> {
  const file = ts.createSourceFile('config.ts', source, ts.ScriptTarget.ES2022, true);
  const found = new Map<string, ts.JSDoc | undefined>();
  const visit = (node: ts.Node) => {
    // Functions (loadConfig) build values, not settings: the settings are the module's object literals.
    if (ts.isFunctionLike(node)) return;
    if (ts.isPropertyAssignment(node) && ts.isIdentifier(node.name) && /^[A-Z][A-Z0-9_]+$/.test(node.name.text)) {
      if (found.has(node.name.text)) throw new Error(`src/config.ts: ${node.name.text} is declared twice`);
      const docs = ts.getJSDocCommentsAndTags(node).filter(ts.isJSDoc);
      found.set(node.name.text, docs.at(-1));
    }
    ts.forEachChild(node, visit);
  };
  visit(file);
  return found;
}

/** The schema's own default (the value before its transform), looking through preprocess, pipe and optional. */
function schemaDefault(schema: unknown): unknown {
  const def = (schema as { _zod?: { def?: Record<string, unknown> } })._zod?.def;
  if (!def) return undefined;
  switch (def.type) {
    case 'default':
      return def.defaultValue;
    case 'pipe':
      return schemaDefault(def.in) ?? schemaDefault(def.out);
    case 'optional':
    case 'nullable':
      return schemaDefault(def.innerType);
    default:
      return undefined;
  }
}

export function readSettings(source = readFileSync(configSourcePath, 'utf8')): SettingDoc[] {
  const comments = commentsByName(source);
  const shape = configSchema.shape as Record<string, unknown>;
  const problems: string[] = [];
  const settings: SettingDoc[] = [];
  for (const name of Object.keys(shape)) {
    const jsdoc = comments.get(name);
    const description = jsdoc ? oneLine(ts.getTextOfJSDocComment(jsdoc.comment) ?? '') : '';
    if (!description) problems.push(`${name}: no description (a JSDoc comment above the key in src/config.ts)`);
    const tags = new Map<string, string>();
    for (const tag of jsdoc?.tags ?? []) tags.set(tag.tagName.text, oneLine(ts.getTextOfJSDocComment(tag.comment) ?? ''));
    const unknownTags = [...tags.keys()].filter((t) => !['readBy', 'required', 'unset', 'contract'].includes(t));
    if (unknownTags.length) problems.push(`${name}: unknown tag @${unknownTags.join(', @')}`);
    const readBy = (tags.get('readBy') ?? '').split(/[\s,]+/).filter(Boolean);
    const badProcess = readBy.filter((p) => !(p in PROCESSES));
    if (!readBy.length || badProcess.length) {
      problems.push(`${name}: "@readBy" must list the processes that read it, of: ${Object.keys(PROCESSES).join(', ')}`);
    }
    const fallback = schemaDefault(shape[name]);
    if (fallback !== undefined && tags.has('unset')) problems.push(`${name}: has a schema default, so "@unset" would contradict it`);
    settings.push({
      name,
      description,
      readBy: readBy as Process[],
      contract: tags.has('contract'),
      ...(tags.get('required') && { required: tags.get('required') }),
      ...(tags.get('unset') && { unset: tags.get('unset') }),
      ...(fallback !== undefined && { default: String(fallback) }),
    });
  }
  for (const name of comments.keys()) {
    if (!(name in shape)) problems.push(`${name}: documented in src/config.ts but not in the schema`);
  }
  if (problems.length) throw new Error(`docs/configuration.md cannot be generated:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  return settings;
}

const code = (text: string) => `\`${text}\``;
const readers = (s: SettingDoc) => s.readBy.map((p) => PROCESSES[p]).join(', ');
const defaultCell = (s: SettingDoc) => (s.default !== undefined ? code(s.default) : 'unset');
const cell = (text: string) => text.replace(/\|/g, '\\|');

export function renderConfigurationDoc(settings = readSettings()): string {
  const lines = [
    '# Configuration',
    '',
    '<!-- Generated by `npm run docs:config` from the schema and the comments in src/config.ts: edit those, then regenerate. test/docs-configuration.test.ts fails while this file and the schema disagree. -->',
    '',
    'Every process is configured by environment variables only, validated once at start by one zod',
    'schema ([src/config.ts](../src/config.ts)) shared by the API and the worker: every bad variable is',
    'listed at once and the process does not start. Durations are written like `28 days`, `15s` or',
    '`1 day 12 hours`.',
    '',
    '**Read by** names the processes that use a setting ([operations](operations.md#processes-and-their-settings)):',
    '**API** is `npm run start:api` (src/api/server.ts), **worker** is `npm run start:worker`',
    '(worker.ts), and **`npm start`** is both in one process with its embedded services',
    '(src/main.ts). Names marked ✱ are the platform\'s (api.md) and do not change.',
    '',
    '| Name | Default | Required | Read by |',
    '|---|---|---|---|',
    ...settings.map((s) => `| [${code(s.name)}](#${s.name.toLowerCase()})${s.contract ? ' ✱' : ''} | ${cell(defaultCell(s))} | ${cell(s.required ?? 'no')} | ${readers(s)} |`),
    '',
    '## Settings',
    '',
  ];
  for (const s of settings) {
    lines.push(`### ${code(s.name)}`, '', s.description, '');
    const facts = [
      `**Default:** ${s.default !== undefined ? code(s.default) : `unset${s.unset ? `: ${s.unset}` : ''}`}`,
      ...(s.required ? [`**Required:** ${s.required}`] : []),
      `**Read by:** ${readers(s)}`,
      ...(s.contract ? ['**Name:** the platform\'s (api.md)'] : []),
    ];
    lines.push(facts.join(' · '), '');
  }
  lines.push(
    '## Variables outside this schema',
    '',
    'Read directly by the tools that need them, so they are documented beside those tools:',
    '',
    '| Variables | Where |',
    '|---|---|',
    '| `OTEL_EXPORTER_OTLP_ENDPOINT`, `OTEL_TRACES_EXPORTER`, `OTEL_SERVICE_NAME`, … | [operations: tracing](operations.md#tracing-opentelemetry) |',
    '| `NODE_ENV`, `MALLOC_ARENA_MAX` | [operations: the worker process](operations.md#the-worker-process-prebuilt-bundle-and-memory-limits) |',
    '| `TEMPORAL_CLI_PATH`, `TEMPORAL_TEST_SERVER_PATH`, `TEMPORAL_TOOLS_DIR` | [README: a fresh machine](../README.md#what-a-fresh-machine-needs) |',
    '| `TEST_PG_ADMIN_URL`, `CHROMIUM_PATH`, `SCHEMATHESIS_SEED`, `SCHEMATHESIS_PATH` | [architecture: tests](architecture.md#tests) |',
    '| `INVITATIONS_URL`, `ADMIN_API_KEY` of `npm run invite` | [integration: bulk invitations](integration.md#bulk-invitations) |',
    '| `EMAIL_PREVIEW_PORT` | [integration: mail templates](integration.md#mail-templates) |',
    '',
  );
  return lines.join('\n');
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  writeFileSync(configDocPath, renderConfigurationDoc());
  process.stdout.write(`wrote ${path.relative(process.cwd(), configDocPath)}\n`);
}
