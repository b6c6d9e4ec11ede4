import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildCli, collectOutput } from './tagwarden';

export const ROOT = join(__dirname, '..', '..');
let BIN = join(ROOT, 'bin', 'tagwarden.js');

/**
 * Copies bin/ and the freshly built dist/ into a private directory under .test-state/ (inside the repo,
 * so better-sqlite3 still resolves from node_modules), and runs the CLI from there. Other test files
 * (the e2e suites) call buildCli too, and scripts/build.mjs deletes dist/ before rebuilding it: without
 * the copy, a CLI started during someone else's build fails with "tagwarden is not built".
 * Returns a function that removes the copy.
 */
/**
 * For a CLI test file: builds the CLI once, runs it from a snapshot (see useCliSnapshot), and gives
 * each test a fresh temporary folder, removed after it. Call at the top level; `dir()` inside tests.
 */
export function useCliTempDir(prefix: string): () => string {
  let dir = '';
  let restore: (() => void) | undefined;
  beforeAll(() => {
    buildCli();
    restore = useCliSnapshot();
  });
  afterAll(() => restore?.());
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), prefix));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));
  return () => dir;
}

export function useCliSnapshot(): () => void {
  const state = join(ROOT, '.test-state');
  mkdirSync(state, { recursive: true });
  const dir = mkdtempSync(join(state, 'cli-'));
  cpSync(join(ROOT, 'bin'), join(dir, 'bin'), { recursive: true });
  cpSync(join(ROOT, 'dist'), join(dir, 'dist'), { recursive: true });
  BIN = join(dir, 'bin', 'tagwarden.js');
  const check = runCli(['--version']);
  if (check.status !== 0) throw new Error(`the CLI copy in ${dir} does not run: ${check.stderr}`);
  return () => {
    BIN = join(ROOT, 'bin', 'tagwarden.js');
    rmSync(dir, { recursive: true, force: true });
  };
}

/** The CLI entry point runCli and spawnServe start (the snapshot's while one is in use). */
export const cliBin = (): string => BIN;

export interface CliResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `node bin/tagwarden.js …` to completion (built dist/ required: see buildCli). */
export function runCli(args: string[], options: { cwd?: string; input?: string } = {}): CliResult {
  const env = { ...process.env };
  delete env.TAGWARDEN_DEBUG;
  const result = spawnSync(process.execPath, [BIN, ...args], {
    cwd: options.cwd ?? ROOT,
    input: options.input ?? '',
    encoding: 'utf8',
    env,
    timeout: 20_000,
  });
  if (result.error) throw result.error;
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

export interface ServeProcess {
  child: ChildProcess;
  output: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** SIGTERM, then the exit. */
  stop(): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/**
 * Starts `tagwarden serve …` in any working directory (startTagwarden always uses the repo root),
 * with `env` added to this process's environment.
 */
export function spawnServe(args: string[], cwd: string, env: Record<string, string> = {}): ServeProcess {
  const child = spawn(process.execPath, [BIN, 'serve', ...args], {
    cwd,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output = collectOutput(child);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  return {
    child,
    output,
    exited,
    stop: () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      return exited;
    },
  };
}
