import { readdirSync, readFileSync, statSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, join, resolve, sep } from 'node:path';
import ts from 'typescript';

/**
 * The import rules of docs/architecture.md, checked on every non-test `.ts` file under shared/,
 * functions/ and infra/. Change the page and this table together.
 */

const ROOT = resolve(__dirname, '../..');
const SCANNED = ['shared', 'functions', 'infra'];

/** Top-level helpers every room may need; each is its own room so a rule can name it. */
const LOG = 'shared/log.ts';
const BUILT_ONCE = 'shared/built-once.ts';
const ZOD_ENGLISH = 'shared/zod-english.ts';
const BOUNDED_BODY = 'shared/bounded-body.ts';
/** The one place a webhook outcome becomes an HTTP status: shared by the three runtimes' HTTP handlers. */
const WEBHOOK_ANSWER = 'functions/webhook-answer.ts';
const SHARED_ROOMS = [
  'shared/core',
  'shared/sources',
  'shared/contracts',
  'shared/auth',
  'shared/history',
  'shared/adapters',
  'shared/config',
  'shared/agent',
  'shared/guard',
  LOG,
  BUILT_ONCE,
  ZOD_ENGLISH,
  BOUNDED_BODY,
];

/** Which of our rooms each room may import (its own room is always allowed). */
const MAY_IMPORT: Record<string, readonly string[]> = {
  'shared/core': [],
  'shared/sources': ['shared/core', ZOD_ENGLISH],
  'shared/contracts': ['shared/core', 'shared/auth'],
  'shared/auth': ['shared/core', 'shared/sources'],
  'shared/history': ['shared/core', LOG],
  'shared/adapters': ['shared/core', 'shared/contracts', LOG, BOUNDED_BODY],
  'shared/config': ['shared/core', 'shared/contracts', 'shared/sources', ZOD_ENGLISH],
  'shared/agent': ['shared/core', 'shared/contracts', LOG, BOUNDED_BODY],
  'shared/guard': [
    'shared/core',
    'shared/sources',
    'shared/contracts',
    'shared/auth',
    'shared/history',
    'shared/adapters',
    LOG,
  ],
  [LOG]: [],
  [BUILT_ONCE]: [],
  [ZOD_ENGLISH]: [],
  [BOUNDED_BODY]: [],
  /** The library's barrel: re-exports, nothing else. */
  'shared/index.ts': ['shared/core', 'shared/history', 'shared/sources'],
  [WEBHOOK_ANSWER]: ['shared/core', 'shared/guard'],
  'functions/aws': [...SHARED_ROOMS, WEBHOOK_ANSWER],
  'functions/azure': [...SHARED_ROOMS, WEBHOOK_ANSWER],
  'functions/local': [...SHARED_ROOMS, WEBHOOK_ANSWER],
  infra: ['shared/core', 'shared/contracts', 'shared/config'],
};

/** Packages a pure room may import (by package name; Node built-ins as `node:<name>`). */
const ONLY_PACKAGES: Record<string, readonly string[]> = {
  'shared/core': [],
  'shared/sources': ['zod'],
  'shared/contracts': ['zod', 'node:crypto'],
  'shared/auth': ['node:crypto'],
};
const SDKS_AND_IO = [
  '@aws-sdk/',
  '@azure/',
  '@slack/',
  '@kubernetes/',
  'better-sqlite3',
  'node:fs',
  'node:http',
  'node:https',
  'node:net',
  'node:child_process',
];
/** Packages a room must not import (by prefix): the application reaches the world through ports. */
const NEVER_PACKAGES: Record<string, readonly string[]> = { 'shared/guard': SDKS_AND_IO };

/**
 * Imports that break a rule today, each removed by a named part of issue 10. An entry that no longer
 * matches an import fails the check below, so this list only shrinks: delete the entry once it fails.
 */
const KNOWN_BREAKS: readonly { from: string; to: string; removedBy: string }[] = [];

/**
 * Import loops between files that exist today, each removed by a named part of issue 10 (sorted file
 * lists). A new loop, or one of these gone, fails the check: then update this list.
 */
const KNOWN_LOOPS: readonly (readonly string[])[] = [];

interface Import {
  file: string;
  specifier: string;
}
interface Violation {
  file: string;
  specifier: string;
  rule: string;
}

/** The room a repository path lives in: `shared/<dir>`, a top-level `shared/<file>.ts`, a runtime, or infra. */
function roomOf(path: string): string {
  const [top, second] = path.split('/');
  if (top === 'functions' && second !== undefined) return `functions/${second}`;
  if (top === 'infra') return 'infra';
  if (top === 'shared' && second !== undefined)
    return path.split('/').length === 2 ? path : `shared/${second}`;
  return path;
}

function packageOf(specifier: string): string {
  const bare = specifier.startsWith('node:') ? specifier : specifier.split('/')[0]!;
  if (builtinModules.includes(bare)) return `node:${bare}`;
  if (specifier.startsWith('@')) return specifier.split('/').slice(0, 2).join('/');
  return bare;
}

/** A relative specifier resolved to the repository path of the file it names (or the bare path). */
function resolveRelative(file: string, specifier: string, exists: (path: string) => boolean): string {
  const base = join(dirname(file), specifier).split(sep).join('/');
  const found = [base, `${base}.ts`, `${base}/index.ts`].find(
    (candidate) => candidate.endsWith('.ts') && exists(candidate),
  );
  return found ?? base;
}

function isKnownBreak(file: string, target: string): boolean {
  return KNOWN_BREAKS.some((known) => known.from === file && known.to === target);
}

/** Every rule an import breaks, naming the file, the import and the rule. */
function violationsOf(imports: readonly Import[], exists: (path: string) => boolean): Violation[] {
  const violations: Violation[] = [];
  for (const { file, specifier } of imports) {
    const room = roomOf(file);
    const allowedRooms = MAY_IMPORT[room];
    if (!allowedRooms) {
      violations.push({ file, specifier, rule: `${room} is not a room of docs/architecture.md` });
      continue;
    }
    if (specifier.startsWith('.')) {
      const target = resolveRelative(file, specifier, exists);
      const targetRoom = roomOf(target);
      if (targetRoom === room || allowedRooms.includes(targetRoom) || isKnownBreak(file, target)) continue;
      const allowed = allowedRooms.length ? allowedRooms.join(', ') : 'nothing of ours';
      violations.push({
        file,
        specifier,
        rule: `${room} may not import ${targetRoom} (it may import ${allowed})`,
      });
      continue;
    }
    const name = packageOf(specifier);
    const only = ONLY_PACKAGES[room];
    if (only && !only.includes(name))
      violations.push({
        file,
        specifier,
        rule: `${room} may import only the packages [${only.join(', ')}], not ${name}`,
      });
    const never = NEVER_PACKAGES[room]?.find((prefix) => name === prefix || name.startsWith(prefix));
    if (never) violations.push({ file, specifier, rule: `${room} may not import ${never} (use a port)` });
  }
  return violations;
}

/** Every set of files that import each other round in a loop (Tarjan's strongly connected components). */
function importLoops(edges: ReadonlyMap<string, readonly string[]>): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const loops: string[][] = [];
  const visit = (file: string) => {
    index.set(file, index.size);
    low.set(file, index.get(file)!);
    stack.push(file);
    for (const target of edges.get(file) ?? []) {
      if (!index.has(target)) {
        visit(target);
        low.set(file, Math.min(low.get(file)!, low.get(target)!));
      } else if (stack.includes(target)) low.set(file, Math.min(low.get(file)!, index.get(target)!));
    }
    if (low.get(file) !== index.get(file)) return;
    const loop = stack.splice(stack.indexOf(file));
    if (loop.length > 1 || edges.get(file)?.includes(file)) loops.push(loop.sort());
  };
  for (const file of edges.keys()) if (!index.has(file)) visit(file);
  return loops.sort((a, b) => a[0]!.localeCompare(b[0]!));
}

function sourceFiles(dir: string): string[] {
  return readdirSync(join(ROOT, dir)).flatMap((name) => {
    const path = `${dir}/${name}`;
    if (statSync(join(ROOT, path)).isDirectory()) return sourceFiles(path);
    return path.endsWith('.ts') && !path.endsWith('.test.ts') && !path.endsWith('.d.ts') ? [path] : [];
  });
}

/** Static imports, re-exports, `import()` and `require()` of one file, as written. */
function importsOf(file: string): Import[] {
  const text = readFileSync(join(ROOT, file), 'utf8');
  return ts
    .preProcessFile(text, true, true)
    .importedFiles.map(({ fileName }) => ({ file, specifier: fileName }));
}

const existsInRepo = (path: string) => {
  try {
    return statSync(join(ROOT, path)).isFile();
  } catch {
    return false;
  }
};

describe('the rooms of docs/architecture.md', () => {
  const files = SCANNED.flatMap(sourceFiles);
  const imports = files.flatMap(importsOf);

  it('finds the source files and their imports', () => {
    expect(files.length).toBeGreaterThan(50);
    expect(files).toContain('shared/core/transition.ts');
    expect(imports.some((i) => i.file === 'shared/guard/ingest.ts' && i.specifier.includes('sources'))).toBe(
      true,
    );
  });

  it('every import keeps the rules', () => {
    expect(violationsOf(imports, existsInRepo)).toEqual([]);
  });

  it('every known break still exists (delete an entry once the issue item removes its import)', () => {
    const stillThere = KNOWN_BREAKS.filter((known) =>
      imports.some(
        (i) =>
          i.file === known.from &&
          i.specifier.startsWith('.') &&
          resolveRelative(i.file, i.specifier, existsInRepo) === known.to,
      ),
    );
    expect(stillThere).toEqual(KNOWN_BREAKS);
  });

  it('no files import each other in a loop', () => {
    const edges = new Map<string, string[]>(files.map((file) => [file, []]));
    for (const { file, specifier } of imports) {
      const target = specifier.startsWith('.') ? resolveRelative(file, specifier, existsInRepo) : null;
      if (target && edges.has(target)) edges.get(file)!.push(target);
    }
    expect(importLoops(edges)).toEqual(KNOWN_LOOPS);
  });

  it('the page names every room the check knows', () => {
    const page = readFileSync(join(ROOT, 'docs/architecture.md'), 'utf8');
    const unnamed = Object.keys(MAY_IMPORT).filter((room) => !page.includes(`\`${room}`));
    expect(unnamed).toEqual([]);
  });
});

describe('the check itself', () => {
  const anyFile = () => true;
  const check = (file: string, specifier: string) => violationsOf([{ file, specifier }], anyFile);

  it('names the file, the import and the rule when core imports history', () => {
    expect(check('shared/core/decide.ts', '../history/port')).toEqual([
      {
        file: 'shared/core/decide.ts',
        specifier: '../history/port',
        rule: 'shared/core may not import shared/history (it may import nothing of ours)',
      },
    ]);
  });

  it('refuses I/O and SDKs in pure rooms and SDKs in the application', () => {
    expect(check('shared/sources/ecr.ts', 'node:fs')).toHaveLength(1);
    expect(check('shared/core/time.ts', 'zod')).toHaveLength(1);
    expect(check('shared/guard/ingest.ts', '@aws-sdk/client-sqs')).toHaveLength(1);
    expect(check('shared/guard/ingest.ts', 'http')).toHaveLength(1);
    expect(check('shared/sources/ecr.ts', 'zod/mini')).toEqual([]);
  });

  it('refuses the rules of issue 10 item 7', () => {
    expect(check('shared/sources/ecr.ts', '../auth/source-auth')).toHaveLength(1);
    expect(check('shared/history/sqlite.ts', '../guard/record')).toHaveLength(1);
    expect(check('shared/adapters/notify/slack.ts', '../../guard/effects')).toHaveLength(1);
    expect(check('shared/agent/apply.ts', '../adapters/cluster/sender')).toHaveLength(1);
    expect(check('functions/aws/webhook.ts', '../local/server')).toHaveLength(1);
    expect(check('shared/guard/ingest.ts', '../../functions/aws/runtime')).toHaveLength(1);
    expect(check('shared/config/load.ts', '../../infra/app')).toHaveLength(1);
    expect(check('shared/agent/apply.ts', '../contracts/cluster-bump/payload')).toEqual([]);
  });

  it('finds a loop of three files and a file importing itself, not a chain', () => {
    const edges = new Map([
      ['a.ts', ['b.ts']],
      ['b.ts', ['c.ts']],
      ['c.ts', ['a.ts', 'd.ts']],
      ['d.ts', ['e.ts']],
      ['e.ts', []],
      ['f.ts', ['f.ts']],
    ]);
    expect(importLoops(edges)).toEqual([['a.ts', 'b.ts', 'c.ts'], ['f.ts']]);
  });

  it('resolves a directory import to its index and keeps the room of a top-level helper', () => {
    expect(roomOf('shared/log.ts')).toBe('shared/log.ts');
    expect(roomOf('shared/history/table-storage/store.ts')).toBe('shared/history');
    expect(check('functions/local/cli.ts', '../azure/poison-command')).toHaveLength(1);
    expect(
      violationsOf([{ file: 'functions/local/x.ts', specifier: '../../shared/core' }], existsInRepo),
    ).toEqual([]);
  });
});
