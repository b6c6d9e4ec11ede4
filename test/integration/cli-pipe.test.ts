import { spawn } from 'node:child_process';
import { cliBin, ROOT, useCliSnapshot } from '../support/cli-process';
import { buildCli } from '../support/tagwarden';

/**
 * `tagwarden history … --json | head`: a reader that stops early closes the pipe. The command drops
 * the rest of its output and keeps its own exit code; before, the write's EPIPE was an unhandled
 * error event, printed as a Node stack trace with exit 1.
 */
let dropSnapshot: (() => void) | undefined;

beforeAll(() => {
  buildCli();
  dropSnapshot = useCliSnapshot();
}, 60_000);

afterAll(() => dropSnapshot?.());

/** Runs the CLI with its standard output a pipe whose reader is gone before the CLI writes a byte. */
function withClosedStdout(args: string[]): Promise<{ code: number | null; stderr: string }> {
  const child = spawn(process.execPath, [cliBin(), ...args], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout.destroy();
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
  });
  return new Promise((resolve) => child.once('close', (code) => resolve({ code, stderr })));
}

it('normalize into a closed pipe: no stack trace, exit 0', async () => {
  const result = await withClosedStdout([
    'normalize',
    '--source',
    'ecr',
    'test/fixtures/ecr/push-valid.json',
  ]);
  expect(result.stderr).not.toContain('EPIPE');
  expect(result.stderr).toBe('');
  expect(result.code).toBe(0);
});

it('--help into a closed pipe: no stack trace, exit 0', async () => {
  const result = await withClosedStdout(['--help']);
  expect(result.stderr).toBe('');
  expect(result.code).toBe(0);
});

it('a failing command into a closed pipe keeps its one error line and exit 1', async () => {
  const result = await withClosedStdout(['history', 'x/y:z', '--db', 'no-such-dir/history.db']);
  expect(result.stderr).toMatch(/^error: history file no-such-dir\/history.db does not exist/);
  expect(result.stderr).not.toContain('    at ');
  expect(result.code).toBe(1);
});
