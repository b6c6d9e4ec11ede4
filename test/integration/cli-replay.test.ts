import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Policy } from '../../shared/core';
import { SqliteHistoryStore } from '../../shared/history';
import { runCli, useCliSnapshot } from '../support/cli-process';
import { at, digestOf, pushEvent } from '../support/events';
import { buildCli } from '../support/tagwarden';

const HOST = '127.0.0.1:5000';
const [A, B, C] = [digestOf('replay-a'), digestOf('replay-b'), digestOf('replay-c')];
const rule = (tag: string, action: Policy['defaults']['action']) => ({
  match: { tag },
  action,
  owners: [],
  bump: false,
});
/** What was recorded: release tags revert, `candidate` alerts, `latest` floats. */
const RECORDED: Policy = {
  defaults: { action: 'revert', owners: [], bump: false },
  rules: [rule('latest', 'allow'), rule('candidate', 'alert')],
};

let dir: string;
let db: string;
let dropSnapshot: () => void;
const sha256 = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');
const config = (name: string, yaml: string) => {
  const path = join(dir, name);
  writeFileSync(path, yaml);
  return path;
};

beforeAll(async () => {
  buildCli();
  dropSnapshot = useCliSnapshot();
  dir = mkdtempSync(join(tmpdir(), 'tagwarden-cli-replay-'));
  db = join(dir, 'history.db');
  const store = new SqliteHistoryStore({ path: db });
  const push = (id: string, tag: string, digest: string, t: number) =>
    store.apply(pushEvent({ id, tag, digest, timestamp: at(t) }), RECORDED, at(t + 1));
  await push('r1', 'v1', A, 0);
  await push('r2', 'v1', B, 10); // overwrite: reverted
  const ref = { registryHost: HOST, repository: 'payments/api', tag: 'v1' };
  await store.markPendingRestore(ref, { digest: A, from: B, until: at(600) });
  await push('r3', 'v1', A, 12); // the echo of that revert
  await push('r4', 'candidate', A, 20);
  await push('r5', 'candidate', C, 30); // overwrite: alerted
  await push('r6', 'latest', A, 40);
  await push('r7', 'latest', B, 50); // overwrite: allowed
  await store.close();
}, 60_000);

afterAll(() => {
  dropSnapshot?.();
  rmSync(dir, { recursive: true, force: true });
});

describe('tagwarden replay --from-db', () => {
  it('replayed through the policy that recorded it, history comes out the same', () => {
    const same = config(
      'same.yaml',
      'defaults: { action: revert }\nrules:\n  - match: { tag: latest }\n    action: allow\n  - match: { tag: candidate }\n    action: alert\n',
    );
    const result = runCli(['replay', '--config', same, '--from-db', db]);
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    expect(result.stdout).toContain('Replayed 7 recorded event(s)');
    expect(result.stdout).toContain('The new policy does the same to every event.');
    expect(result.stdout).toMatch(/^revert\s+1\s+1$/m);
    expect(result.stdout).toMatch(/^alert\s+1\s+1$/m);
  });

  it('prints per action what was recorded and what the new policy would do, and the tags that differ; the file is not changed', () => {
    const before = sha256(db);
    const lenient = config('lenient.yaml', 'defaults: { action: alert }\n');
    const result = runCli(['replay', '--config', lenient, '--from-db', db]);
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    const out = result.stdout;
    expect(out).toContain(`Replayed 6 recorded event(s) from ${db} through ${lenient}.`);
    expect(out).toContain('1 restore(s) Tagwarden made for a recorded revert were left out');
    expect(out).toMatch(/^ACTION\s+RECORDED\s+NEW POLICY$/m);
    expect(out).toMatch(/^revert\s+1\s+0$/m);
    expect(out).toMatch(/^alert\s+1\s+3$/m);
    expect(out).toContain('2 event(s) differ:');
    expect(out).toMatch(
      new RegExp(`${at(10)}\\s+${HOST}/payments/api:v1\\s+overwrite revert\\s+overwrite alert`),
    );
    expect(out).toMatch(
      new RegExp(`${at(50)}\\s+${HOST}/payments/api:latest\\s+overwrite none\\s+overwrite alert`),
    );
    // Within 120 columns, but for the line naming the files (as long as their paths).
    for (const line of out.split('\n').filter((l) => !l.includes(dir)))
      expect(line.length).toBeLessThanOrEqual(120);
    expect(sha256(db)).toBe(before);
    // Read only: SQLite's read-only WAL protocol may leave an empty -wal beside it, nothing more.
    const wal = `${db}-wal`;
    if (existsSync(wal)) expect(statSync(wal).size).toBe(0);
  });

  it('--json lists every differing event', () => {
    const strict = config('strict.yaml', 'defaults: { action: revert }\n');
    const result = runCli(['replay', '--config', strict, '--from-db', db, '--json']);
    expect(result.status).toBe(0);
    const summary = JSON.parse(result.stdout) as {
      events: number;
      actions: Record<string, { recorded: number; replayed: number }>;
      differ: { eventId: string; recorded: { action: string }; replayed: { action: string } }[];
    };
    expect(summary.events).toBe(7);
    expect(summary.actions.revert).toEqual({ recorded: 1, replayed: 3 });
    expect(summary.differ.map((e) => [e.eventId, e.recorded.action, e.replayed.action])).toEqual([
      ['r5', 'alert', 'revert'],
      ['r7', 'none', 'revert'],
    ]);
  });

  it('reads tagwarden history --json from standard input', () => {
    const history = runCli(['history', `${HOST}/payments/api:candidate`, '--db', db, '--json']);
    expect(history.status).toBe(0);
    const strict = config('strict-stdin.yaml', 'defaults: { action: revert }\n');
    const result = runCli(['replay', '--config', strict, '-'], { input: history.stdout });
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    expect(result.stdout).toContain('Replayed 2 recorded event(s) from standard input');
    expect(result.stdout).toMatch(/^alert\s+1\s+0$/m);
    expect(result.stdout).toMatch(
      new RegExp(`${HOST}/payments/api:candidate\\s+overwrite alert\\s+overwrite revert`),
    );
  });

  it('reads tagwarden history --json from standard input with --from-db - too, and nothing else there', () => {
    const history = runCli(['history', `${HOST}/payments/api:candidate`, '--db', db, '--json']);
    const strict = config('strict-from-db-stdin.yaml', 'defaults: { action: revert }\n');
    const result = runCli(['replay', '--config', strict, '--from-db', '-'], { input: history.stdout });
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    expect(result.stdout).toContain('Replayed 2 recorded event(s) from standard input');
    expect(result.stdout).toMatch(/^alert\s+1\s+0$/m);
    const events = runCli(['normalize', '--source', 'ecr', 'test/fixtures/ecr/push-valid.json']);
    const refused = runCli(['replay', '--config', strict, '--from-db', '-'], { input: events.stdout });
    expect(refused.status).toBe(1);
    expect(refused.stderr).toMatch(
      /^error: --from-db - reads one tagwarden history --json document: replay reads/,
    );
  });

  it('says what replay accepts when it can read nothing of its input', () => {
    const strict = config('strict-bad.yaml', 'defaults: { action: revert }\n');
    const result = runCli(['replay', '--config', strict, '-'], { input: 'not json\n' });
    expect(result.status).toBe(1);
    const errors = result.stderr.split('\n').filter((l) => l.startsWith('error: '));
    expect(errors).toEqual([
      'error: nothing could be replayed (see above): replay reads normalize output (JSON lines), a dead-letter-queue export, or one tagwarden history --json document (file or - for standard input), or a history file with --from-db <file>',
    ]);
    const none = runCli(['replay', '--config', strict]);
    expect(none.status).toBe(1);
    expect(none.stderr).toMatch(/^error: no input: replay reads normalize output/);
    const missing = runCli(['replay', '--config', strict, '--from-db', join(dir, 'missing.db')]);
    expect(missing.stderr).toBe(`error: history file ${join(dir, 'missing.db')} does not exist\n`);
  });
});
