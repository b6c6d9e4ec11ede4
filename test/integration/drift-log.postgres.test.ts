import { Pool } from 'pg';
import { tagRefOf } from '../../shared/core';
import { type DriftReportInput, driftLogOf } from '../../shared/history';
import { PostgresHistoryStore } from '../../shared/history/postgres';
import { describeDriftLog, finding, keyed, planFor } from '../contract/drift-log.contract';
import { at } from '../support/events';
import { beforeNext, type RunningPostgres, startPostgres } from '../support/postgres';
import { eventually } from '../support/tagwarden';

let pg: RunningPostgres;
let schemas = 0;

beforeAll(async () => {
  pg = await startPostgres();
}, 60_000);
afterAll(async () => {
  await pg?.stop();
});

describeDriftLog('postgres', async () => {
  const store = await PostgresHistoryStore.open({ url: await pg.createSchema(`drift_${++schemas}`) });
  return { drift: store.drift, outbox: store, close: () => store.close() };
});

/** Two replicas' stores on one fresh schema, each with a pool of its own. */
async function replicas() {
  const url = await pg.createSchema(`drift_replicas_${++schemas}`);
  const pools = [new Pool({ connectionString: url, max: 4 }), new Pool({ connectionString: url, max: 4 })];
  const stores = await Promise.all(pools.map((pool) => PostgresHistoryStore.open({ pool })));
  const close = async () => {
    for (const pool of pools) await pool.end();
  };
  return {
    pools: pools as [Pool, Pool],
    stores: stores as [PostgresHistoryStore, PostgresHistoryStore],
    close,
  };
}

const input = (reportId: string): DriftReportInput => ({
  cluster: 'prod-eu',
  reportId,
  receivedAt: at(10),
  forgetBefore: at(0),
});

describe('PostgreSQL drift log with two replicas', () => {
  it('is what driftLogOf finds on the store serve opens', async () => {
    const store = await PostgresHistoryStore.open({ url: await pg.createSchema(`drift_${++schemas}`) });
    expect(driftLogOf(store)).toBe(store.drift);
    await store.close();
  });

  it('records one report both replicas received at once one time: the other finds it a replay', async () => {
    const { stores, close } = await replicas();
    const results = await Promise.all(
      stores.map((s) => s.drift.applyReport(input('r1'), planFor([keyed('k1')]))),
    );
    expect(results.map((r) => r.kind).sort()).toEqual(['applied', 'replay']);
    expect((await stores[0].effectsOf('drift-k1')).map((e) => e.key)).toEqual(['drift-k1#alert']);
    expect(await stores[1].drift.driftHistory(tagRefOf(finding()))).toHaveLength(1);
    await close();
  });

  it('makes a report of a cluster wait while another replica records one of it: the finding opens, and alerts, once', async () => {
    const { pools, stores, close } = await replicas();
    let second: Promise<unknown> = Promise.resolve();
    let settled = false;
    // Replica 0 has read the open findings (none) and is about to open the one it was sent; replica 1
    // gets a report of the same cluster with the same finding meanwhile: it must wait for replica 0,
    // not read the open findings too and open the finding a second time.
    beforeNext(pools[0], /^INSERT INTO drift_open/, async () => {
      second = stores[1].drift
        .applyReport(input('r2'), planFor([keyed('k1')]))
        .finally(() => (settled = true));
      await eventually(async () => {
        const { rows } = await pools[0].query<{ n: number }>(
          'SELECT count(*)::int AS n FROM pg_locks WHERE NOT granted',
        );
        return settled || rows[0]!.n > 0 ? true : undefined;
      }, 'replica 1 waiting on a lock or done');
    });
    const first = await stores[0].drift.applyReport(input('r1'), planFor([keyed('k1')]));
    expect(first).toEqual({ kind: 'applied', opened: 1, cleared: 0 });
    expect(await second).toEqual({ kind: 'applied', opened: 0, cleared: 0 });
    const rows = await stores[1].drift.driftHistory(tagRefOf(finding()));
    expect(rows.map((r) => [r.change, r.reportId])).toEqual([['opened', 'r1']]);
    expect((await stores[1].drift.openFindings()).map((f) => f.key)).toEqual(['k1']);
    await close();
  });
});
