import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

/**
 * The README and docs/ link to each other instead of repeating facts, so a link that leads
 * nowhere loses a fact. Every relative link must name a file of this repository, and every
 * `#anchor` a heading of its target, by GitHub's slug of the heading.
 */
const root = path.resolve('.');
const documents = ['README.md', ...readdirSync('docs').filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)];

/** Markdown outside fenced code blocks and inline code, where a link is a link. */
function prose(markdown: string): string {
  return markdown.replace(/^(```|~~~)[^\n]*\n[\s\S]*?^\1[^\n]*$/gm, '').replace(/`[^`\n]*`/g, '');
}

/** GitHub's heading ids (github-slugger): lower case, punctuation dropped, spaces to hyphens, repeats numbered. */
export function headingSlugs(markdown: string): Set<string> {
  const slugs = new Set<string>();
  const seen = new Map<string, number>();
  const withoutCode = markdown.replace(/^(```|~~~)[^\n]*\n[\s\S]*?^\1[^\n]*$/gm, '');
  for (const [, heading] of withoutCode.matchAll(/^#{1,6}[ \t]+(.+?)[ \t#]*$/gm)) {
    const text = heading!
      .replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1') // a link's text
      .replace(/<[^>]+>/g, '');
    const base = text.toLowerCase().replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, '').replace(/ /g, '-');
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    slugs.add(n === 0 ? base : `${base}-${n}`);
  }
  return slugs;
}

export function brokenLinks(file: string, markdown: string, readTarget: (absolute: string) => string | undefined): string[] {
  const problems: string[] = [];
  for (const [, target] of prose(markdown).matchAll(/\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)) {
    if (/^[a-z][a-z0-9+.-]*:/i.test(target!)) continue; // https:, mailto:
    const [pathPart, anchor] = target!.split('#', 2) as [string, string | undefined];
    const absolute = pathPart ? path.resolve(path.dirname(path.join(root, file)), decodeURIComponent(pathPart)) : path.join(root, file);
    if (!absolute.startsWith(root + path.sep) && absolute !== root) {
      problems.push(`${file}: ${target} leaves the repository`);
      continue;
    }
    const text = readTarget(absolute);
    if (text === undefined) {
      problems.push(`${file}: ${target} does not exist`);
      continue;
    }
    if (anchor !== undefined && !headingSlugs(text).has(anchor)) {
      problems.push(`${file}: ${target} names no heading of ${path.relative(root, absolute)}`);
    }
  }
  return problems;
}

const readFromDisk = (absolute: string) => {
  if (!existsSync(absolute)) return undefined;
  return statSync(absolute).isDirectory() ? '' : readFileSync(absolute, 'utf8');
};

describe('links between the documents', () => {
  it('every relative link and anchor in README.md and docs/*.md resolves', () => {
    const problems = documents.flatMap((file) => brokenLinks(file, readFileSync(file, 'utf8'), readFromDisk));
    expect(problems).toEqual([]);
  });

  it('nothing points outside the repository (it stands on its own)', () => {
    for (const file of documents) expect(readFileSync(file, 'utf8'), file).not.toMatch(/\.\.\/shared\/|\/work\/shared/);
  });

  it('finds a missing file, a missing heading and a link out of the repository', () => {
    const doc = '# Title\n\n## Keys and their rotation\n\n[a](#keys-and-their-rotation) [b](#nope) [c](missing.md) [d](../../elsewhere.md) `[e](#in-code)`\n';
    expect(brokenLinks('docs/x.md', doc, (p) => (p.endsWith('docs/x.md') ? doc : undefined))).toEqual([
      'docs/x.md: #nope names no heading of docs/x.md',
      'docs/x.md: missing.md does not exist',
      'docs/x.md: ../../elsewhere.md leaves the repository',
    ]);
  });

  it('slugs headings as GitHub does', () => {
    const slugs = headingSlugs('## Tracing (OpenTelemetry)\n### `PUBLIC_BASE_URL`\n## The worker process: prebuilt bundle\n## Tests\n## Tests\n```sh\n# not a heading\n```\n');
    expect([...slugs]).toEqual(['tracing-opentelemetry', 'public_base_url', 'the-worker-process-prebuilt-bundle', 'tests', 'tests-1']);
  });
});
