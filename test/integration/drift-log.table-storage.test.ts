import { TableClient } from '@azure/data-tables';
import { TableStorageHistoryStore } from '../../shared/history/table-storage';
import { describeDriftLog, finding } from '../contract/drift-log.contract';
import { type RunningAzurite, startAzurite } from '../support/azurite';
import { manyFindings, reportInput } from '../support/drift-plans';

let az: RunningAzurite;
let tables = 0;

beforeAll(async () => {
  az = await startAzurite();
}, 60_000);
afterAll(async () => {
  await az?.stop();
});

async function freshStore(name = `drift${++tables}`): Promise<TableStorageHistoryStore> {
  const client = TableClient.fromConnectionString(az.connectionString, name, {
    allowInsecureConnection: true,
  });
  const store = new TableStorageHistoryStore(client);
  await store.ensureTable();
  return store;
}

describeDriftLog('azurite', async () => {
  const store = await freshStore();
  return { drift: store.drift, outbox: store, close: () => store.close() };
});

describe('Table Storage drift log beyond one transaction (100 operations)', () => {
  it('records a report opening 150 findings (600 writes, split) whole, then one clearing them all', async () => {
    const store = await freshStore();
    const { reported, plan } = manyFindings(150);
    expect(await store.drift.applyReport(reportInput('big'), plan)).toEqual({
      kind: 'applied',
      opened: 150,
      cleared: 0,
    });
    expect((await store.drift.openFindings('prod-eu')).map((f) => f.key)).toEqual(reported.map((f) => f.key));
    expect((await store.effectsOf('drift-k149')).map((e) => e.key)).toEqual([
      'drift-k149#alert',
      'drift-k149#revert',
    ]);
    expect(await store.drift.applyReport(reportInput('big'), plan)).toEqual({ kind: 'replay' });
    expect(await store.drift.applyReport(reportInput('gone', 20), manyFindings(0).plan)).toEqual({
      kind: 'applied',
      opened: 0,
      cleared: 150,
    });
    expect(await store.drift.openFindings()).toEqual([]);
    const rows = await store.drift.driftHistory(reported[7]!.finding);
    expect(rows.map((r) => r.change)).toEqual(['opened', 'cleared']);
  }, 60_000);

  it('lets two writers delivering one report at once record it once, each finding opened once', async () => {
    const name = `drift${++tables}`;
    const [one, two] = [await freshStore(name), await freshStore(name)];
    const { plan } = manyFindings(120);
    const results = await Promise.all([one, two].map((s) => s.drift.applyReport(reportInput('twice'), plan)));
    expect(results.map((r) => r.kind).sort()).toEqual(['applied', 'replay']);
    expect(await one.drift.openFindings()).toHaveLength(120);
    const rows = await two.drift.driftHistory(finding({ tag: 'v42' }));
    expect(rows.map((r) => [r.change, r.reportId])).toEqual([['opened', 'twice']]);
  }, 60_000);
});
