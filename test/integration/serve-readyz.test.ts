import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli, type ServeProcess, spawnServe, useCliSnapshot } from '../support/cli-process';
import { PG_PASSWORD, type RunningPostgres, startPostgres } from '../support/postgres';
import { buildCli, eventually } from '../support/tagwarden';

/**
 * Issue 18 hardening: `GET /readyz` on serve answers 200 while the history answers a read, and 503
 * with the reason when it does not (the SQLite file removed, the PostgreSQL server stopped), so a
 * Service stops sending webhooks to a replica that cannot record them. `--db-env` reads the history's
 * URL from the environment, keeping its password out of the command line.
 */
let dir: string;
let dropSnapshot: () => void;
const running: ServeProcess[] = [];

beforeAll(() => {
  buildCli();
  dropSnapshot = useCliSnapshot();
  dir = mkdtempSync(join(tmpdir(), 'tagwarden-readyz-'));
});
afterEach(async () => {
  await Promise.all(running.splice(0).map((serve) => serve.stop()));
  delete process.env.TAGWARDEN_DB_URL;
});
afterAll(() => {
  dropSnapshot?.();
  rmSync(dir, { recursive: true, force: true });
});

async function startServe(args: string[]): Promise<{ serve: ServeProcess; base: string }> {
  const serve = spawnServe(['--port', '0', ...args], dir);
  running.push(serve);
  const base = await eventually(
    async () => serve.output().match(/listening on (http:\/\/127\.0\.0\.1:\d+)/)?.[1],
    `serve listening: ${serve.output()}`,
    30_000,
  );
  return { serve, base };
}

async function readyz(base: string, method = 'GET'): Promise<[number, unknown]> {
  const response = await fetch(`${base}/readyz`, { method });
  return [response.status, await response.json()];
}

describe('GET /readyz on a SQLite history', () => {
  it('is ready while the file answers, and 503 with the reason once the file is removed', async () => {
    const db = join(dir, 'removed.db');
    const { serve, base } = await startServe(['--db', db]);
    expect(await readyz(base)).toEqual([200, { status: 'ready' }]);
    expect((await readyz(base, 'POST'))[0]).toBe(405);
    for (const file of [db, `${db}-wal`, `${db}-shm`]) rmSync(file, { force: true });
    // The open handle still reads the removed file: only the check of the path tells. Security: the
    // answer (anyone may ask) names no path; serve's log does, once.
    const [status, body] = await readyz(base);
    expect([status, body]).toEqual([
      503,
      { status: 'not ready', reason: 'the history file was removed or replaced since serve opened it' },
    ]);
    expect(JSON.stringify(body)).not.toContain(dir);
    await readyz(base);
    const logged = serve.output().match(/"message":"not ready"[^\n]*/g) ?? [];
    expect(logged).toEqual([expect.stringContaining(`removed or replaced since serve opened it: ${db}`)]);
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
  }, 60_000);
});

describe('serve --db-env and GET /readyz on a PostgreSQL history', () => {
  let pg: RunningPostgres;
  beforeAll(async () => {
    pg = await startPostgres();
  }, 60_000);
  afterAll(() => pg?.stop());

  it('reads the URL from the named variable, keeps the password out of argv and output, and turns 503 when the server stops', async () => {
    process.env.TAGWARDEN_DB_URL = await pg.createDatabase('readyz');
    const { serve, base } = await startServe(['--db-env', 'TAGWARDEN_DB_URL']);
    expect(serve.output()).toMatch(/history postgres:\/\/tagwarden:\*\*\*@127\.0\.0\.1:\d+\/readyz/);
    const argv = readFileSync(`/proc/${serve.child.pid}/cmdline`, 'utf8');
    expect(argv).toContain('--db-env\0TAGWARDEN_DB_URL');
    expect(argv).not.toContain(PG_PASSWORD);
    expect(await readyz(base)).toEqual([200, { status: 'ready' }]);
    await pg.stop();
    const [status, body] = await readyz(base);
    // Security: the answer names no host, port, user or database (the driver's error is in the log).
    expect([status, body]).toEqual([
      503,
      { status: 'not ready', reason: "the history did not answer (serve's log has the error)" },
    ]);
    expect(serve.output()).toMatch(/"message":"not ready".*the history did not answer: /);
    expect(JSON.stringify(body) + serve.output()).not.toContain(PG_PASSWORD);
  }, 60_000);

  it('refuses, in one line, a variable that is not set, and --db given with --db-env', () => {
    const unset = runCli(['serve', '--db-env', 'TAGWARDEN_DB_URL_UNSET'], { cwd: dir });
    expect([unset.status, unset.stderr.trim()]).toEqual([
      expect.any(Number),
      expect.stringContaining(
        '--db-env TAGWARDEN_DB_URL_UNSET: the environment variable TAGWARDEN_DB_URL_UNSET is not set',
      ),
    ]);
    expect(unset.status).not.toBe(0);
    expect(unset.stderr.trim().split('\n')).toHaveLength(1);
    const both = runCli(['serve', '--db', 'x.db', '--db-env', 'TAGWARDEN_DB_URL'], { cwd: dir });
    expect(both.status).not.toBe(0);
    expect(both.stderr).toMatch(/--db-env.*cannot be used with.*--db|--db.*cannot be used with.*--db-env/);
  });
});
