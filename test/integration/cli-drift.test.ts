import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { diffDrift, type KeyedFinding } from '../../shared/core';
import { SqliteHistoryStore } from '../../shared/history';
import { finding } from '../contract/drift-log.contract';
import { runCli, useCliSnapshot } from '../support/cli-process';
import { at, pushEvent } from '../support/events';
import { buildCli } from '../support/tagwarden';

const REF = '127.0.0.1:5000/payments/api:v1.0.0';
let dir: string;
let dropSnapshot: () => void;

beforeAll(() => {
  buildCli();
  dropSnapshot = useCliSnapshot();
  dir = mkdtempSync(join(tmpdir(), 'tagwarden-cli-drift-'));
}, 60_000);
afterAll(() => {
  dropSnapshot?.();
  rmSync(dir, { recursive: true, force: true });
});

async function historyWithDrift(path: string): Promise<void> {
  const store = new SqliteHistoryStore({ path });
  await store.apply(
    pushEvent({ id: 'e1' }),
    { defaults: { action: 'alert', owners: [], bump: false }, rules: [] },
    at(0),
  );
  const report = (cluster: string, id: string, found: KeyedFinding[], time: string) =>
    store.drift.applyReport({ cluster, reportId: id, receivedAt: time, forgetBefore: at(0) }, (open) => ({
      diff: diffDrift(open, found, false),
      effects: [],
    }));
  await report('prod-eu', 'r1', [{ key: 'k1', finding: finding() }], at(10));
  await report('prod-us', 'r1', [{ key: 'k2', finding: finding({ kind: 'risky' }) }], at(10));
  await report('prod-us', 'r2', [], at(20));
  await store.close();
}

describe('tagwarden drift and the drift rows of tagwarden history', () => {
  it('lists open findings per cluster, as a table and as the JSON of GET /api/drift', async () => {
    const db = join(dir, 'drift.db');
    await historyWithDrift(db);
    const table = runCli(['drift', '--db', db]);
    expect(table.status).toBe(0);
    const lines = table.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^CLUSTER\s+KIND\s+WORKLOAD\s+CONTAINER\s+IMAGE\s+RUNNING\s+SINCE$/);
    expect(lines.slice(1)).toHaveLength(1);
    expect(lines[1]).toMatch(
      /^prod-eu\s+split\s+Deployment payments\/api\s+api\s+payments\/api:v1\.0\.0\s+sha256:\w{12}/,
    );
    const json = JSON.parse(runCli(['drift', '--db', db, '--json', '--cluster', 'prod-eu']).stdout);
    expect(Object.keys(json.clusters)).toEqual(['prod-eu']);
    expect(json.clusters['prod-eu'][0]).toMatchObject({ key: 'k1', reportId: 'r1', kind: 'split' });
    expect(runCli(['drift', '--db', db, '--cluster', 'prod-us']).stdout.trim()).toBe(
      'no open drift findings for cluster prod-us',
    );
  });

  it('prints drift rows under the tag history, the cleared one included', async () => {
    const db = join(dir, 'history.db');
    await historyWithDrift(db);
    const result = runCli(['history', REF, '--db', db]);
    expect(result.status).toBe(0);
    const drift = result.stdout.split("Drift (what the clusters' pods run):\n")[1]!.trim().split('\n');
    expect(drift[0]).toMatch(/^RECEIVED\s+DRIFT\s+CLUSTER\s+KIND\s+WORKLOAD\s+CONTAINER\s+RUNNING$/);
    expect(drift.slice(1).map((l) => l.split(/\s{2,}/).slice(0, 4))).toEqual([
      [at(10), 'opened', 'prod-eu', 'split'],
      [at(10), 'opened', 'prod-us', 'risky'],
      [at(20), 'cleared', 'prod-us', 'risky'],
    ]);
    expect(JSON.parse(runCli(['history', REF, '--db', db, '--json']).stdout).drift).toHaveLength(3);
  });

  it('refuses a missing history file in one line', () => {
    const result = runCli(['drift', '--db', join(dir, 'absent.db')]);
    expect(result.status).toBe(1);
    expect(result.stderr.trim()).toMatch(/^error: history file .*absent\.db does not exist/);
  });
});
