import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve, sep } from 'node:path';
import ts from 'typescript';

/**
 * The size rules of the house: no non-test source file over 400 lines, and handlers thin — no
 * function in a runtime's handler folder (`functions/**`: the exported handlers, the routes and what
 * they call), nor a route or handler anywhere else, over 60 lines. Measured with the TypeScript
 * compiler, from a function's first token (its doc comment excluded) to its closing brace.
 */

const ROOT = resolve(__dirname, '../..');
const SCANNED = ['shared', 'functions', 'infra'];
const MAX_FILE_LINES = 400;
const MAX_HANDLER_LINES = 60;
/** A route or handler by its name, wherever it lives. */
const HANDLER_NAME = /^route$|Handler$|^handle[A-Z]/;

interface Measured {
  file: string;
  name: string;
  lines: number;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return path.endsWith('.ts') && !path.endsWith('.test.ts') && !path.endsWith('.d.ts') ? [path] : [];
  });
}

function repoPath(path: string): string {
  return relative(ROOT, path).split(sep).join('/');
}

function lineCount(text: string): number {
  if (text === '') return 0;
  return text.split('\n').length - (text.endsWith('\n') ? 1 : 0);
}

/** The name a function goes by: its own, its variable's or property's, else where it starts. */
function nameOf(node: ts.FunctionLikeDeclaration, source: ts.SourceFile): string {
  if (ts.isConstructorDeclaration(node)) return 'constructor';
  if (node.name) return node.name.getText(source);
  const parent = node.parent;
  if ((ts.isVariableDeclaration(parent) || ts.isPropertyAssignment(parent)) && parent.name)
    return parent.name.getText(source);
  return `<anonymous at line ${source.getLineAndCharacterOfPosition(node.getStart(source)).line + 1}>`;
}

/** Every function with a body in a file, with its length in lines. */
function functionsOf(file: string, text: string): Measured[] {
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
  const found: Measured[] = [];
  const visit = (node: ts.Node): void => {
    if (ts.isFunctionLike(node) && 'body' in node && node.body) {
      const first = source.getLineAndCharacterOfPosition(node.getStart(source)).line;
      const last = source.getLineAndCharacterOfPosition(node.getEnd()).line;
      found.push({ file, name: nameOf(node, source), lines: last - first + 1 });
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

function isHandler(measured: Measured): boolean {
  return measured.file.startsWith('functions/') || HANDLER_NAME.test(measured.name);
}

const files = SCANNED.flatMap((dir) => sourceFiles(join(ROOT, dir))).map((path) => ({
  file: repoPath(path),
  text: readFileSync(path, 'utf8'),
}));

describe('size rules', () => {
  it(`keeps every non-test source file at ${MAX_FILE_LINES} lines or fewer`, () => {
    expect(files.length).toBeGreaterThan(50);
    const tooLong = files
      .map(({ file, text }) => ({ file, lines: lineCount(text) }))
      .filter(({ lines }) => lines > MAX_FILE_LINES)
      .map(({ file, lines }) => `${file}: ${lines} lines`);
    expect(tooLong).toEqual([]);
  });

  it(`keeps every handler function at ${MAX_HANDLER_LINES} lines or fewer`, () => {
    const handlers = files.flatMap(({ file, text }) => functionsOf(file, text)).filter(isHandler);
    expect(handlers.length).toBeGreaterThan(50);
    const tooLong = handlers
      .filter(({ lines }) => lines > MAX_HANDLER_LINES)
      .map(({ file, name, lines }) => `${file}: ${name} is ${lines} lines`);
    expect(tooLong).toEqual([]);
  });

  it('measures a function from its first token to its closing brace, doc comment excluded', () => {
    const text = [
      '/** doc */',
      'export function listed(a: number) {',
      '  return a;',
      '}',
      'export const arrow = async () => {',
      '  const inner = function () {',
      '    return 1;',
      '  };',
      '  return inner();',
      '};',
      'class K {',
      '  constructor() {}',
      '  method() { return [1].map((x) => x); }',
      '}',
      '',
    ].join('\n');
    expect(functionsOf('functions/x.ts', text)).toEqual([
      { file: 'functions/x.ts', name: 'listed', lines: 3 },
      { file: 'functions/x.ts', name: 'arrow', lines: 6 },
      { file: 'functions/x.ts', name: 'inner', lines: 3 },
      { file: 'functions/x.ts', name: 'constructor', lines: 1 },
      { file: 'functions/x.ts', name: 'method', lines: 1 },
      { file: 'functions/x.ts', name: '<anonymous at line 13>', lines: 1 },
    ]);
    expect(lineCount(text)).toBe(14);
    expect(lineCount('a\nb')).toBe(2);
  });

  it('counts a route or handler outside functions/ and nothing else there', () => {
    expect(isHandler({ file: 'shared/guard/x.ts', name: 'route', lines: 1 })).toBe(true);
    expect(isHandler({ file: 'shared/guard/x.ts', name: 'eventGridHandler', lines: 1 })).toBe(true);
    expect(isHandler({ file: 'shared/guard/x.ts', name: 'handleEvent', lines: 1 })).toBe(true);
    expect(isHandler({ file: 'shared/guard/x.ts', name: 'handlers', lines: 1 })).toBe(false);
    expect(isHandler({ file: 'functions/aws/x.ts', name: 'build', lines: 1 })).toBe(true);
  });
});
