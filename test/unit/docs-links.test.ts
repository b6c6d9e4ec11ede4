import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';

/**
 * Every relative link in the README and docs/ reaches a file that exists, and a `#fragment` a
 * heading of that file (GitHub's anchor rules: lower case, punctuation dropped, spaces to `-`).
 */
const ROOT = join(__dirname, '..', '..');
const pages = [
  'README.md',
  ...readdirSync(join(ROOT, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .map((f) => `docs/${f}`),
];

export function anchorsOf(markdown: string): Set<string> {
  const anchors = new Set<string>();
  const withoutCode = markdown.replace(/```[\s\S]*?```/g, '');
  for (const [, heading] of withoutCode.matchAll(/^#{1,6} (.+)$/gm))
    anchors.add(
      heading!
        .toLowerCase()
        .replace(/[^\p{L}\p{N} _-]/gu, '')
        .replace(/ /g, '-'),
    );
  return anchors;
}

function brokenLinks(page: string): string[] {
  const text = readFileSync(join(ROOT, page), 'utf8').replace(/```[\s\S]*?```/g, '');
  const broken: string[] = [];
  for (const [, target] of text.matchAll(/\]\(([^)\s]+)\)/g)) {
    if (/^[a-z]+:/i.test(target!)) continue;
    const [path, fragment] = target!.split('#');
    const file = path ? join(dirname(join(ROOT, page)), path) : join(ROOT, page);
    if (!existsSync(file)) broken.push(`${page}: ${target} (no file ${relative(ROOT, file)})`);
    else if (fragment && file.endsWith('.md') && !anchorsOf(readFileSync(file, 'utf8')).has(fragment))
      broken.push(`${page}: ${target} (no heading #${fragment})`);
  }
  return broken;
}

it('derives anchors as GitHub does', () => {
  expect([...anchorsOf('## Install the command\n### HTTP API (`tagwarden serve`)\n')]).toEqual([
    'install-the-command',
    'http-api-tagwarden-serve',
  ]);
});

it.each(pages)('%s links only to files and headings that exist', (page) => {
  expect(brokenLinks(page)).toEqual([]);
});

it('keeps the README a front page of at most 250 lines (detail belongs in docs/)', () => {
  const lines = readFileSync(join(ROOT, 'README.md'), 'utf8').split('\n').length;
  expect(lines).toBeLessThanOrEqual(250);
});
