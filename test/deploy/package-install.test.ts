import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from '../support/cli-process';
import { digestOf } from '../support/events';
import { installedPackage } from '../support/package';
import { collectOutput, eventually, freePort } from '../support/tagwarden';
import { distributionBody } from '../support/webhook-bodies';

/**
 * The package as a user installs it (test/support/package.ts): `npm pack`, then `npm install -g` of the
 * tarball into a prefix (one install shared by every test file of the run), then the installed
 * `tagwarden` command run from an empty directory.
 */
const work = mkdtempSync(join(tmpdir(), 'tagwarden-pack-'));
const home = join(work, 'home');
let prefix = '';
let tarball = '';
let bin = '';

beforeAll(async () => {
  mkdirSync(home, { recursive: true });
  ({ tarball, prefix } = await installedPackage());
  bin = join(prefix, 'bin', 'tagwarden');
}, 900_000);

afterAll(() => rmSync(work, { recursive: true, force: true }));

function tagwarden(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(bin, args, { cwd: home, encoding: 'utf8', timeout: 30_000 });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

it('packs only what a user runs: the command, its bundle, the schema and the docs', () => {
  const files = execFileSync('tar', ['tzf', tarball], { encoding: 'utf8' }).trim().split('\n').sort();
  expect(files).toContain('package/bin/tagwarden.js');
  expect(files).toContain('package/dist/cli.js');
  expect(files).toContain('package/schema/tagwarden.schema.json');
  expect(files).toContain('package/README.md');
  expect(files.filter((file) => /\.test\.ts$|^package\/(test|shared|functions|infra)\//.test(file))).toEqual(
    [],
  );
});

it('installs a tagwarden command that answers --version and --help', () => {
  const version = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version as string;
  const shown = tagwarden(['--version']);
  expect(shown).toMatchObject({ status: 0, stdout: `${version}\n` });
  const help = tagwarden(['--help']);
  expect(help.status).toBe(0);
  expect(help.stdout).toMatch(/serve/);
});

it('runs serve from the installed package on its embedded SQLite history, and reads it back', async () => {
  const port = await freePort();
  const child = spawn(bin, ['serve', '--port', String(port)], {
    cwd: home,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output = collectOutput(child);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  try {
    await eventually(
      async () => ((await fetch(`http://127.0.0.1:${port}/healthz`)).ok ? true : undefined),
      `serve to answer /healthz (output: ${output()})`,
    );
    const push = await fetch(`http://127.0.0.1:${port}/webhooks/distribution`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: distributionBody({ repository: 'packed/api', tag: 'v1', digest: digestOf('1') }),
    });
    expect(push.status).toBe(202);
    // prom-client is bundled into the command (a devDependency): the installed package has no copy.
    const metrics = await fetch(`http://127.0.0.1:${port}/metrics`);
    expect(metrics.status).toBe(200);
    expect(await metrics.text()).toMatch(
      /^tagwarden_events_recorded_total\{source="distribution",transition="first-seen"\} 1$/m,
    );
    expect(readdirSync(join(prefix, 'lib', 'node_modules', 'tagwarden', 'node_modules'))).not.toContain(
      'prom-client',
    );
  } finally {
    child.kill('SIGTERM');
    await exited;
  }
  const history = tagwarden(['history', '127.0.0.1:5000/packed/api:v1', '--json']);
  expect(history.status).toBe(0);
  expect(history.stdout).toContain(digestOf('1'));
}, 60_000);
