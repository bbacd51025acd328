import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

/**
 * The Dockerfile's build, replayed without Docker (issue 17.7: containers cannot run on the
 * machines CI uses). Each stage gets a directory standing for its file system; its COPYs copy
 * from the build context as Docker would see it (.dockerignore honoured) or from an earlier
 * stage, its RUNs run with `sh -c` in the stage's WORKDIR with the stage's ENV, and what the
 * last stage declares (ENV, USER, CMD, HEALTHCHECK, EXPOSE) is returned for the caller to run
 * (test/containers.test.ts starts the API and the worker from it with plain node).
 *
 * It knows only the instructions this Dockerfile uses and refuses any other, so a Dockerfile
 * that grows beyond them fails here instead of being half replayed. What it cannot reproduce:
 * the base image itself (the host's node and npm stand in for the image's), and file owners.
 *
 *   tsx scripts/container-build-check.ts [out-dir]
 */

export interface Instruction {
  op: string;
  /** The text after the instruction's name, continuation lines joined. */
  args: string;
  line: number;
}

export interface Stage {
  name: string;
  /** The image or the earlier stage it starts from, build arguments substituted. */
  from: string;
  instructions: Instruction[];
}

export interface Dockerfile {
  /** ARGs before the first FROM, with their defaults. */
  args: Record<string, string>;
  stages: Stage[];
}

export interface ReplayedImage {
  /** The last stage's file system (a container path /x is `${root}/x`). */
  root: string;
  /** Its WORKDIR as a directory on this machine. */
  workdir: string;
  /** Its WORKDIR in the image. */
  containerWorkdir: string;
  env: Record<string, string>;
  user: string | undefined;
  cmd: string[];
  healthcheck: string[] | undefined;
  expose: string[];
}

const KNOWN = new Set(['FROM', 'ARG', 'WORKDIR', 'COPY', 'RUN', 'ENV', 'USER', 'EXPOSE', 'HEALTHCHECK', 'CMD', 'LABEL']);

/** Instructions by stage: comments and parser directives dropped, `\` continuations joined. */
export function parseDockerfile(text: string): Dockerfile {
  const logical: Array<{ text: string; line: number }> = [];
  let current: { text: string; line: number } | undefined;
  text.split('\n').forEach((raw, index) => {
    const line = raw.trimEnd();
    // Docker drops comment lines even inside a continued instruction.
    if (/^\s*#/.test(line) || (!current && line.trim() === '')) return;
    const continued = line.endsWith('\\');
    const part = continued ? line.slice(0, -1) : line;
    if (current) current.text += ` ${part.trim()}`;
    else current = { text: part.trim(), line: index + 1 };
    if (!continued) {
      logical.push(current);
      current = undefined;
    }
  });
  if (current) throw new Error(`Dockerfile line ${current.line}: continuation at the end of the file`);

  const args: Record<string, string> = {};
  const stages: Stage[] = [];
  for (const { text: instruction, line } of logical) {
    const match = /^(\w+)\s*(.*)$/.exec(instruction);
    const op = match?.[1]?.toUpperCase() ?? '';
    const rest = match?.[2]?.trim() ?? '';
    if (!KNOWN.has(op)) throw new Error(`Dockerfile line ${line}: ${op || instruction} is not replayed by scripts/container-build-check.ts`);
    if (op === 'FROM') {
      const from = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(rest);
      if (!from) throw new Error(`Dockerfile line ${line}: FROM ${rest}`);
      const image = from[1]!.replace(/\$\{?(\w+)\}?/g, (_, name: string) => {
        if (!(name in args)) throw new Error(`Dockerfile line ${line}: ARG ${name} has no default`);
        return args[name]!;
      });
      stages.push({ name: from[2] ?? String(stages.length), from: image, instructions: [] });
    } else if (!stages.length) {
      if (op !== 'ARG') throw new Error(`Dockerfile line ${line}: ${op} before the first FROM`);
      const [name, value] = rest.split('=', 2);
      if (value === undefined) throw new Error(`Dockerfile line ${line}: ARG ${name} needs a default here`);
      args[name!] = value;
    } else {
      stages.at(-1)!.instructions.push({ op, args: rest, line });
    }
  }
  if (!stages.length) throw new Error('Dockerfile: no FROM');
  return { args, stages };
}

/** Exec form (a JSON array) or shell form (run by `/bin/sh -c`, as Docker does). */
export function commandOf(args: string): string[] {
  if (args.startsWith('[')) {
    const parsed: unknown = JSON.parse(args);
    if (!Array.isArray(parsed) || !parsed.every((p) => typeof p === 'string')) throw new Error(`not an exec-form command: ${args}`);
    return parsed;
  }
  return ['/bin/sh', '-c', args];
}

/** `--name=value` flags at the start of an instruction's arguments, and what follows them. */
function flagsOf(args: string): { flags: Record<string, string>; rest: string } {
  const flags: Record<string, string> = {};
  let rest = args;
  for (let m = /^--([\w-]+)(?:=(\S*))?\s+/.exec(rest); m; m = /^--([\w-]+)(?:=(\S*))?\s+/.exec(rest)) {
    flags[m[1]!] = m[2] ?? '';
    rest = rest.slice(m[0].length);
  }
  return { flags, rest };
}

/** ENV's `KEY=value …` pairs (values may be double- or single-quoted) or its legacy `KEY value`. */
export function parseEnv(args: string, line: number): Record<string, string> {
  const env: Record<string, string> = {};
  if (!/^\w+=/.test(args)) {
    const [key, ...value] = args.split(/\s+/);
    env[key!] = value.join(' ');
    return env;
  }
  const pair = /(\w+)=(?:"((?:[^"\\]|\\.)*)"|'([^']*)'|(\S*))\s*/y;
  let at = 0;
  while (at < args.length) {
    pair.lastIndex = at;
    const m = pair.exec(args);
    if (!m) throw new Error(`Dockerfile line ${line}: cannot read ENV ${args.slice(at)}`);
    const value = m[2]?.replace(/\\(.)/g, '$1') ?? m[3] ?? m[4] ?? '';
    if (m[3] === undefined && value.includes('$')) throw new Error(`Dockerfile line ${line}: ENV substitution is not replayed (${m[1]})`);
    env[m[1]!] = value;
    at = pair.lastIndex;
  }
  return env;
}

/**
 * .dockerignore as a predicate on context-relative paths (Docker's rules: patterns are
 * anchored at the context's root, `*` stays within one path segment, `**` spans any number,
 * a matching directory excludes everything below it). Exceptions (`!`) are refused: the
 * replay would have to walk ignored directories to honour them.
 */
export function dockerignore(text: string): (relative: string) => boolean {
  const patterns = text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'))
    .map((pattern) => {
      if (pattern.startsWith('!')) throw new Error(`.dockerignore: exceptions (${pattern}) are not replayed by scripts/container-build-check.ts`);
      const clean = path.posix.normalize(pattern.replace(/^\/+/, '')).replace(/\/+$/, '');
      let source = '';
      for (let i = 0; i < clean.length; i++) {
        const c = clean[i]!;
        if (c === '*' && clean[i + 1] === '*') {
          // `**/` matches zero or more directories; a trailing `**` anything below.
          source += clean[i + 2] === '/' ? '(?:.*/)?' : '.*';
          i += clean[i + 2] === '/' ? 2 : 1;
        } else if (c === '*') source += '[^/]*';
        else if (c === '?') source += '[^/]';
        else source += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
      }
      return new RegExp(`^${source}(?:/.*)?$`);
    });
  return (relative) => patterns.some((p) => p.test(relative.split(path.sep).join('/')));
}

/** The build context's files as Docker sends them: every file under root not ignored. */
export function contextFiles(root: string, ignored: (relative: string) => boolean): Set<string> {
  const files = new Set<string>();
  const walk = (dir: string) => {
    for (const entry of readdirSync(path.join(root, dir), { withFileTypes: true })) {
      const relative = dir ? `${dir}/${entry.name}` : entry.name;
      if (ignored(relative)) continue;
      const full = path.join(root, relative);
      // Docker sends symlinks as links; this repository has none but the ignored node_modules.
      if (entry.isDirectory()) walk(relative);
      else if (entry.isFile() || statSync(full).isFile()) files.add(relative);
    }
  };
  walk('');
  return files;
}

export interface ReplayOptions {
  /** The repository: the build context and its Dockerfile, .dockerignore. */
  context: string;
  /** Where the stages' file systems go (emptied first). */
  out: string;
  /** Environment of the RUN steps on top of the stage's ENV (e.g. npm's cache, offline). */
  runEnv?: Record<string, string>;
  log?: (line: string) => void;
}

/** Runs the Dockerfile's stages in order; throws at the first step that fails, naming it. */
export function replayDockerBuild({ context, out, runEnv = {}, log = () => {} }: ReplayOptions): ReplayedImage {
  const dockerfile = parseDockerfile(readFileSync(path.join(context, 'Dockerfile'), 'utf8'));
  const ignorePath = path.join(context, '.dockerignore');
  const files = contextFiles(context, dockerignore(existsSync(ignorePath) ? readFileSync(ignorePath, 'utf8') : ''));
  rmSync(out, { recursive: true, force: true });
  mkdirSync(out, { recursive: true });

  const roots = new Map<string, string>();
  const images = new Map<string, Omit<ReplayedImage, 'root' | 'containerWorkdir'>>();
  let image: ReplayedImage | undefined;
  dockerfile.stages.forEach((stage, index) => {
    const root = path.join(out, `${index}-${stage.name}`);
    const base = roots.get(stage.from);
    const state = { workdir: '/', env: {} as Record<string, string>, user: undefined as string | undefined, cmd: [] as string[], healthcheck: undefined as string[] | undefined, expose: [] as string[] };
    if (base) {
      // A stage built on an earlier one starts from its files (hard links: fast, and the
      // earlier stage is not built on again) and its settings.
      const copied = spawnSync('cp', ['-al', base, root], { stdio: 'inherit' });
      if (copied.status !== 0) throw new Error(`stage ${stage.name}: could not copy stage ${stage.from}`);
      Object.assign(state, structuredClone(images.get(stage.from)!));
    } else {
      mkdirSync(root, { recursive: true });
    }
    const inside = (containerPath: string) => path.join(root, path.posix.resolve(state.workdir, containerPath));
    log(`stage ${stage.name} (FROM ${stage.from})`);
    for (const { op, args, line } of stage.instructions) {
      const where = `Dockerfile line ${line} (${op} ${args})`;
      if (op === 'WORKDIR') {
        state.workdir = path.posix.resolve(state.workdir, args);
        mkdirSync(inside('.'), { recursive: true });
      } else if (op === 'ENV') {
        Object.assign(state.env, parseEnv(args, line));
      } else if (op === 'USER') {
        state.user = args;
      } else if (op === 'EXPOSE') {
        state.expose.push(...args.split(/\s+/));
      } else if (op === 'CMD') {
        state.cmd = commandOf(args);
      } else if (op === 'HEALTHCHECK') {
        const { rest } = flagsOf(args);
        state.healthcheck = rest === 'NONE' ? undefined : commandOf(rest.replace(/^CMD\s+/, ''));
      } else if (op === 'ARG' || op === 'LABEL') {
        // Nothing to replay: stage arguments are not used in this Dockerfile's steps.
      } else if (op === 'COPY') {
        const { flags, rest } = flagsOf(args);
        const unknown = Object.keys(flags).filter((f) => f !== 'from');
        if (unknown.length) throw new Error(`${where}: --${unknown.join(', --')} is not replayed`);
        const parts = rest.split(/\s+/);
        const dest = parts.pop()!;
        if (!parts.length || parts.some((p) => /[*?[]/.test(p))) throw new Error(`${where}: sources must be plain paths`);
        const target = inside(dest);
        const intoDirectory = dest.endsWith('/') || parts.length > 1;
        for (const source of parts) {
          if (flags.from !== undefined) {
            const fromRoot = roots.get(flags.from);
            if (!fromRoot) throw new Error(`${where}: no earlier stage ${flags.from}`);
            const from = path.join(fromRoot, path.posix.resolve('/', source));
            if (!existsSync(from)) throw new Error(`${where}: ${source} does not exist in stage ${flags.from}`);
            const to = intoDirectory && statSync(from).isFile() ? path.join(target, path.basename(source)) : target;
            cpSync(from, to, { recursive: true, verbatimSymlinks: true });
            continue;
          }
          const relative = path.posix.normalize(source).replace(/^\.\/?|\/$/g, '');
          const below = [...files].filter((f) => relative === '' || f.startsWith(`${relative}/`));
          if (files.has(relative)) {
            const to = intoDirectory ? path.join(target, path.basename(relative)) : target;
            mkdirSync(path.dirname(to), { recursive: true });
            cpSync(path.join(context, relative), to);
          } else if (below.length) {
            // A directory: its contents (as far as .dockerignore lets them in) into the target.
            for (const file of below) {
              const to = path.join(target, relative === '' ? file : file.slice(relative.length + 1));
              mkdirSync(path.dirname(to), { recursive: true });
              cpSync(path.join(context, file), to);
            }
          } else {
            throw new Error(`${where}: ${source} is not in the build context (missing, or excluded by .dockerignore)`);
          }
        }
      } else if (op === 'RUN') {
        const { flags, rest } = flagsOf(args);
        // A cache mount keeps a cache (npm's) out of the image; the replay uses the host's.
        if (flags.mount !== undefined && !/^type=cache(?:,|$)/.test(flags.mount)) throw new Error(`${where}: only cache mounts are replayed`);
        const unknown = Object.keys(flags).filter((f) => f !== 'mount');
        if (unknown.length) throw new Error(`${where}: --${unknown.join(', --')} is not replayed`);
        const [command, ...commandArgs] = commandOf(rest);
        log(`  RUN ${rest}`);
        const started = Date.now();
        const run = spawnSync(command!, commandArgs, {
          cwd: inside('.'),
          env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? tmpdir(), ...runEnv, ...state.env },
          stdio: ['ignore', 'pipe', 'pipe'],
          encoding: 'utf8',
          maxBuffer: 64 * 1024 * 1024,
        });
        if (run.status !== 0) throw new Error(`${where} failed (exit ${run.status ?? run.signal}):\n${(run.stdout + run.stderr).slice(-4000)}`);
        log(`  … ${((Date.now() - started) / 1000).toFixed(1)} s`);
      }
    }
    roots.set(stage.name, root);
    images.set(stage.name, structuredClone(state));
    image = { ...state, root, containerWorkdir: state.workdir, workdir: inside('.') };
  });
  return image!;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const out = path.resolve(process.argv[2] ?? path.join(tmpdir(), 'invitations-image'));
  const started = Date.now();
  const image = replayDockerBuild({
    context: process.cwd(),
    out,
    runEnv: { npm_config_prefer_offline: 'true' },
    log: (line) => process.stderr.write(`${line}\n`),
  });
  process.stdout.write(
    `${JSON.stringify({ seconds: Math.round((Date.now() - started) / 1000), workdir: image.workdir, user: image.user, env: image.env, cmd: image.cmd, healthcheck: image.healthcheck, expose: image.expose }, null, 2)}\n`,
  );
}
