import { copyFileSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { diffDrift } from '../../shared/core';
import { SqliteHistoryStore } from '../../shared/history';
import { PostgresHistoryStore } from '../../shared/history/postgres';
import { finding } from '../contract/drift-log.contract';
import { type CliResult, runCli, useCliSnapshot } from '../support/cli-process';
import { at, pushEvent } from '../support/events';
import { pushImage } from '../support/images';
import { PG_PASSWORD, type RunningPostgres, startPostgres } from '../support/postgres';
import { type RunningRegistry, startRegistry } from '../support/registry';
import { buildCli } from '../support/tagwarden';

/**
 * `--db-env <NAME>` on every command that opens the history, not only serve: an operator who runs
 * `kubectl exec … tagwarden history` against the PostgreSQL overlay names the variable the pod already
 * has instead of pasting the URL and its password. Each command reaches through the variable the
 * store `--db` names (the working directory has no default history, so a `--db-env` that fell back to
 * `--db`'s default would fail), and refuses an unset variable, a bad name and `--db` given too.
 */
const REF = '127.0.0.1:5000/payments/api:v1.0.0';
const VAR = 'TAGWARDEN_TEST_DB';
const ALERT = { defaults: { action: 'alert' as const, owners: [], bump: false }, rules: [] };
let dir: string;
let db: string;
let alertKey: string;
let dropSnapshot: () => void;

beforeAll(async () => {
  buildCli();
  dropSnapshot = useCliSnapshot();
  dir = mkdtempSync(join(tmpdir(), 'tagwarden-cli-db-env-'));
  db = join(dir, 'history.db');
  const store = new SqliteHistoryStore({ path: db });
  const first = pushEvent({ id: 'e1', digest: `sha256:${'1'.repeat(64)}` });
  await store.apply(first, ALERT, at(0));
  const second = pushEvent({ id: 'e2', digest: `sha256:${'2'.repeat(64)}`, timestamp: at(5) });
  const { effects } = await store.apply(second, ALERT, at(5));
  alertKey = `${second.id}#${effects[0]!.kind}`;
  await store.updateEffect(alertKey, { status: 'failed', error: 'slack answered 500' }, at(6));
  await store.recordFailure({ source: 'harbor', reason: 'not JSON', payload: 'x', receivedAt: at(7) });
  await store.drift.applyReport(
    { cluster: 'prod-eu', reportId: 'r1', receivedAt: at(10), forgetBefore: at(0) },
    (open) => ({ diff: diffDrift(open, [{ key: 'k1', finding: finding() }], false), effects: [] }),
  );
  await store.close();
}, 60_000);
afterEach(() => {
  delete process.env[VAR];
});
afterAll(() => {
  dropSnapshot?.();
  rmSync(dir, { recursive: true, force: true });
});

/** The command run in `dir` with `--db-env` naming a variable that holds `location`. */
function viaEnv(args: string[], location: string): CliResult {
  process.env[VAR] = location;
  try {
    return runCli([...args, '--db-env', VAR], { cwd: dir });
  } finally {
    delete process.env[VAR];
  }
}

describe('--db-env reaches the store --db names', () => {
  it.each([
    ['history', [REF], REF],
    ['history --json', [REF, '--json'], '"current": "sha256:2222'],
    ['drift', [], 'prod-eu'],
    ['drift --json', ['--json'], '"prod-eu"'],
    ['failed', [], 'slack answered 500'],
  ])('%s prints what --db prints', (name, rest, expected) => {
    const args = [name.split(' ')[0]!, ...rest];
    const byPath = runCli([...args, '--db', db], { cwd: dir });
    expect(byPath.status).toBe(0);
    expect(byPath.stdout).toContain(expected);
    expect(viaEnv(args, db)).toEqual(byPath);
  });

  it('retry retries the failed effect of that store, and failed on --db then lists none', () => {
    const copy = join(dir, 'retry.db');
    copyFileSync(db, copy);
    const retried = viaEnv(['retry', '--key', alertKey], copy);
    expect([retried.status, retried.stdout]).toEqual([0, expect.stringMatching(/^delivered {2}e2#alert/)]);
    expect(runCli(['failed', '--db', copy], { cwd: dir }).stdout).toContain('Failed effects (0):');
    expect(runCli(['failed', '--db', db], { cwd: dir }).stdout).toContain('Failed effects (1):');
  });

  it('replay continues the history file the variable names, as with --db', () => {
    const config = join(dir, 'policy.yaml');
    writeFileSync(config, 'defaults:\n  action: alert\n');
    const events = join(dir, 'events.jsonl');
    writeFileSync(
      events,
      `${JSON.stringify(pushEvent({ id: 'e3', digest: `sha256:${'3'.repeat(64)}`, timestamp: at(20) }))}\n`,
    );
    const args = ['replay', '--config', config, events];
    const byPath = runCli([...args, '--db', db], { cwd: dir });
    expect([byPath.status, byPath.stdout]).toEqual([
      0,
      expect.stringContaining(`"transition":"overwrite","previousDigest":"sha256:${'2'.repeat(64)}"`),
    ]);
    expect(viaEnv(args, db)).toEqual(byPath);
  });

  it('replay refuses a postgres:// URL from the variable without printing its password', () => {
    const result = viaEnv(['replay', '--config', join(dir, 'policy.yaml'), '-'], 'postgres://u:s3cret@db/x');
    expect(result.status).toBe(1);
    expect(result.stderr).toBe(
      'error: replay --db takes a SQLite history file, not a PostgreSQL URL (postgres://u:***@db/x)\n',
    );
  });
});

describe('history --db-env on a PostgreSQL history (the overlay, through kubectl exec)', () => {
  let pg: RunningPostgres;
  beforeAll(async () => {
    pg = await startPostgres();
  }, 60_000);
  afterAll(() => pg?.stop());

  it('prints the tag from the database the variable names, its password not in the output', async () => {
    const url = await pg.createDatabase('dbenv');
    const store = await PostgresHistoryStore.open({ url });
    await store.apply(pushEvent({ id: 'pg1' }), ALERT, at(0));
    await store.close();
    const result = viaEnv(['history', REF, '--json'], url);
    expect(result.status).toBe(0);
    expect(JSON.parse(result.stdout).history.map((h: { eventId: string }) => h.eventId)).toEqual(['pg1']);
    expect(result.stdout + result.stderr).not.toContain(PG_PASSWORD);
  }, 60_000);
});

describe('sweep and baseline with --db-env', () => {
  let registry: RunningRegistry;
  beforeAll(async () => {
    registry = await startRegistry();
    writeFileSync(
      join(dir, 'tagwarden.yaml'),
      `registries:\n  "${registry.host}": { url: "${registry.url}" }\n`,
    );
    await pushImage(registry.url, 'team/app', 'v1', 'cli-db-env-v1');
  }, 60_000);
  afterAll(() => registry?.stop());

  it('baseline creates and seeds the file the variable names; sweep then finds it unchanged', () => {
    const seeded = join(dir, 'seeded.db');
    const baseline = viaEnv(['baseline', `${registry.host}/team/app`], seeded);
    expect([baseline.status, baseline.stdout]).toEqual([
      0,
      `${registry.host}/team/app: baseline of 1 tags: 1 recorded, 0 already in history\n`,
    ]);
    expect(existsSync(join(dir, '.tagwarden'))).toBe(false);
    const sweep = viaEnv(['sweep', `${registry.host}/team/app`], seeded);
    expect([sweep.status, sweep.stdout]).toEqual([
      0,
      `${registry.host}/team/app: 1 tags checked, 0 recorded\n`,
    ]);
    const history = runCli(['history', `${registry.host}/team/app:v1`, '--db', seeded], { cwd: dir });
    expect([history.status, history.stdout]).toEqual([0, expect.stringContaining('first-seen')]);
  });
});

describe('--db-env refusals on a command other than serve', () => {
  it.each([
    [['history', REF], `error: --db-env ${VAR}: the environment variable ${VAR} is not set`],
    [['failed'], `error: --db-env ${VAR}: the environment variable ${VAR} is not set`],
  ])('%j with the variable unset: exit 1, one line', (args, line) => {
    const result = runCli([...args, '--db-env', VAR], { cwd: dir });
    expect([result.status, result.stdout, result.stderr]).toEqual([1, '', `${line}\n`]);
  });

  it('names a value that is not an environment variable name', () => {
    const result = runCli(['drift', '--db-env', 'postgres://u:pw@db/x'], { cwd: dir });
    expect([result.status, result.stderr]).toEqual([
      1,
      'error: --db-env "postgres://u:pw@db/x": not an environment variable name\n',
    ]);
  });

  it.each([
    ['history', REF],
    ['retry', '--all'],
    ['sweep', '127.0.0.1:1/a/b'],
    ['replay', '--config', 'x.yaml', '-'],
  ])("%s refuses --db with --db-env: commander's error line, exit 1, nothing run", (...args) => {
    process.env[VAR] = db;
    const result = runCli([...args, '--db', db, '--db-env', VAR], { cwd: dir });
    const dbFlag = args[0] === 'replay' ? '--db <file>' : '--db <file|url>';
    expect([result.status, result.stdout]).toEqual([1, '']);
    expect(result.stderr).toBe(
      `error: option '--db-env <name>' cannot be used with option '${dbFlag}'\n(run with --help for usage)\n`,
    );
  });
});
