import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { closeSync, existsSync, openSync } from 'node:fs';
import { createServer as createNetServer } from 'node:net';
import { dirname, join } from 'node:path';
import { stopProcess } from './processes';

/** The project root: the nearest folder up from here with Tagwarden's package.json (also when bundled for the bench). */
const ROOT = (() => {
  for (let dir = __dirname; dir !== dirname(dir); dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'bin', 'tagwarden.js'))) return dir;
  }
  throw new Error(`cannot find the Tagwarden project root above ${__dirname}`);
})();

/** Builds dist/ once per test file, so e2e tests run the real CLI as users do. */
export function buildCli(): void {
  execFileSync(process.execPath, [join(ROOT, 'scripts', 'build.mjs')], { cwd: ROOT, stdio: 'inherit' });
  if (!existsSync(join(ROOT, 'dist', 'cli.js'))) throw new Error('build did not produce dist/cli.js');
}

export async function freePort(): Promise<number> {
  const server = createNetServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Collects a piped child's stdout and stderr, interleaved as they arrive, into one string. */
export function collectOutput(child: ChildProcess): () => string {
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  return () => output;
}

export interface RunningTagwarden {
  url: string;
  process: ChildProcess;
  output: () => string;
  stop(): Promise<void>;
}

/** Starts `tagwarden serve` as a child process and resolves once it is listening. */
export async function startTagwarden(
  args: string[],
  env: Record<string, string> = {},
  /** Send the JSON log (stderr) to this file instead of a pipe, as a deployment would (bench). */
  options: { logFile?: string } = {},
): Promise<RunningTagwarden> {
  const stderr = options.logFile ? openSync(options.logFile, 'a') : 'pipe';
  const child = spawn(process.execPath, [join(ROOT, 'bin', 'tagwarden.js'), 'serve', ...args], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', stderr],
  });
  if (typeof stderr === 'number') closeSync(stderr);
  const output = collectOutput(child);
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`tagwarden did not start within 10 s:\n${output()}`)),
      10_000,
    );
    const check = () => {
      const match = /Tagwarden listening on (http:\/\/\S+)/.exec(output());
      if (match) {
        clearTimeout(timer);
        resolve(match[1]!);
      }
    };
    child.stdout!.on('data', check);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`tagwarden exited with ${code}:\n${output()}`));
    });
  });
  return {
    url,
    process: child,
    output,
    stop: () => stopProcess(child),
  };
}

/** Polls until `probe` returns a value (not undefined), or fails with what it last saw. */
export async function eventually<T>(
  probe: () => Promise<T | undefined>,
  what: string,
  timeoutMs = 15_000,
  intervalMs = 25,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
