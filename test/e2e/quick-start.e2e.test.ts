// Runs the README's quick start as written (issue 13, item 1): every ```sh block after a
// `<!-- quick-start: … -->` marker, each command in a fresh directory that has the project's bin/,
// scripts/ and package.json, compared line by line with the output block that follows it.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfigFile } from '../../shared/config/load';
import { ROOT } from '../support/cli-process';
import { buildCli } from '../support/tagwarden';

interface Example {
  commands: string[];
  expected: string[];
}

/** The marked examples: the sh block's commands and the plain block after it (its expected output). */
function quickStartExamples(readme: string): Example[] {
  const examples: Example[] = [];
  const marked = /<!-- quick-start:[^>]*-->\n```sh\n([\s\S]*?)```\n```\n([\s\S]*?)```/g;
  for (const [, commands, output] of readme.matchAll(marked))
    examples.push({
      commands: commands!.split('\n').filter((line) => line.trim() !== '' && !line.startsWith('#')),
      expected: output!.split('\n').filter((line) => line.trim() !== ''),
    });
  return examples;
}

/**
 * Each expected line matches a later line of the output in order; `…` stands for whatever varies
 * (ports, times, tokens), and a line of `…` alone for any number of lines.
 */
function unmatchedLines(expected: string[], actual: string[]): string[] {
  const missing: string[] = [];
  let at = 0;
  for (const line of expected) {
    if (line.trim() === '…') continue;
    const pattern = new RegExp(
      `^${line
        .trimEnd()
        .split('…')
        .map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace(/ {2,}/g, ' +'))
        .join('.*')}$`,
    );
    const found = actual.findIndex((candidate, i) => i >= at && pattern.test(candidate.trimEnd()));
    if (found < 0) missing.push(line);
    else at = found + 1;
  }
  return missing;
}

const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
const dirs: string[] = [];
beforeAll(() => buildCli(), 60_000);
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

/** A directory as a fresh clone looks to these commands: the project's files, nothing else of ours. */
function cloneLike(): string {
  const dir = mkdtempSync(join(tmpdir(), 'tagwarden-quick-start-'));
  dirs.push(dir);
  for (const name of ['bin', 'scripts', 'package.json']) symlinkSync(join(ROOT, name), join(dir, name));
  return dir;
}

describe('the README quick start, run as written', () => {
  const examples = quickStartExamples(readme);

  it('has the demo and init examples', () => {
    expect(examples.map((e) => e.commands)).toEqual([['npm run demo'], ['node bin/tagwarden.js init']]);
  });

  it.each(examples.map((e) => [e.commands.join('; '), e] as const))(
    '%s prints what the README shows',
    (_, example) => {
      const dir = cloneLike();
      const result = spawnSync('bash', ['-c', example.commands.join('\n')], {
        cwd: dir,
        encoding: 'utf8',
        timeout: 90_000,
      });
      expect(result.stderr).not.toMatch(/error|failed/i);
      expect(result.status).toBe(0);
      expect(unmatchedLines(example.expected, result.stdout.split('\n'))).toEqual([]);
      if (example.commands[0]!.includes('init')) {
        // The config it wrote loads with the variables of the printed `export` lines.
        const env = Object.fromEntries(
          [...result.stdout.matchAll(/([A-Z_]+)=('[^']*'|\S+)/g)].map(([, k, v]) => [
            k!,
            v!.replace(/'/g, ''),
          ]),
        );
        const loaded = loadConfigFile(join(dir, 'tagwarden.yaml'), env);
        expect(loaded.ok ? [] : loaded.errors).toEqual([]);
      }
    },
  );

  it('npm run demo without docker-registry says how to install it, in one line, and exits 1', () => {
    const emptyPath = mkdtempSync(join(tmpdir(), 'tagwarden-no-registry-'));
    dirs.push(emptyPath);
    const result = spawnSync(process.execPath, [join(ROOT, 'scripts', 'demo.mjs')], {
      env: { PATH: emptyPath },
      encoding: 'utf8',
    });
    expect(result.status).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toBe(
      'npm run demo needs docker-registry: install it with `sudo apt-get install -y docker-registry` (Debian/Ubuntu)\n',
    );
  });

  it('the comparison fails on a line the output lacks', () => {
    expect(
      unmatchedLines(['pushed …  (first image)', 'Demo done: …'], ['pushed demo/app:v1  (first image)']),
    ).toEqual(['Demo done: …']);
  });
});
