import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { createHistoryTable, DynamoDbHistoryStore } from '../../shared/history/dynamodb';
import { DynamoDbDriftLog } from '../../shared/history/dynamodb/drift';
import { describeDriftLog, finding } from '../contract/drift-log.contract';
import { manyFindings, reportInput } from '../support/drift-plans';
import { type RunningDynamoDb, startDynamoDbLocal } from '../support/dynamodb-local';

let dynamo: RunningDynamoDb;
let tables = 0;
/** Each store's drift log: on the same table, through the same client. */
const drifts = new WeakMap<DynamoDbHistoryStore, DynamoDbDriftLog>();
const driftOf = (store: DynamoDbHistoryStore) => drifts.get(store)!;

beforeAll(async () => {
  dynamo = await startDynamoDbLocal();
}, 60_000);
afterAll(async () => {
  await dynamo?.stop();
});

async function freshStore(): Promise<DynamoDbHistoryStore> {
  const tableName = `drift-${++tables}`;
  await createHistoryTable(dynamo.client, tableName);
  const store = new DynamoDbHistoryStore({ client: dynamo.client, tableName });
  drifts.set(store, new DynamoDbDriftLog(dynamo.client, tableName));
  return store;
}

describeDriftLog('dynamodb-local', async () => {
  const store = await freshStore();
  return { drift: driftOf(store), outbox: store, close: () => store.close() };
});

describe('DynamoDB drift log beyond one transaction (100 items)', () => {
  it('records a report opening 150 findings (600 writes, split) whole, then one clearing them all', async () => {
    const store = await freshStore();
    const { reported, plan } = manyFindings(150);
    expect(await driftOf(store).applyReport(reportInput('big'), plan)).toEqual({
      kind: 'applied',
      opened: 150,
      cleared: 0,
    });
    expect((await driftOf(store).openFindings('prod-eu')).map((f) => f.key)).toEqual(
      reported.map((f) => f.key),
    );
    expect((await store.effectsOf('drift-k149')).map((e) => e.key)).toEqual([
      'drift-k149#alert',
      'drift-k149#revert',
    ]);
    expect(await driftOf(store).applyReport(reportInput('big'), plan)).toEqual({ kind: 'replay' });
    expect(await driftOf(store).applyReport(reportInput('gone', 20), manyFindings(0).plan)).toEqual({
      kind: 'applied',
      opened: 0,
      cleared: 150,
    });
    expect(await driftOf(store).openFindings()).toEqual([]);
    expect((await driftOf(store).driftHistory(reported[7]!.finding)).map((r) => r.change)).toEqual([
      'opened',
      'cleared',
    ]);
  }, 60_000);

  it('lets two writers delivering one report at once record it once, each finding alerted once', async () => {
    const store = await freshStore();
    const client = new DynamoDBClient({
      region: 'us-east-1',
      endpoint: dynamo.endpoint,
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    });
    const rival = new DynamoDbHistoryStore({ client, tableName: `drift-${tables}` });
    drifts.set(rival, new DynamoDbDriftLog(client, `drift-${tables}`));
    const { plan } = manyFindings(120);
    const results = await Promise.all(
      [store, rival].map((s) => driftOf(s).applyReport(reportInput('twice'), plan)),
    );
    expect(results.map((r) => r.kind).sort()).toEqual(['applied', 'replay']);
    expect(await driftOf(store).openFindings()).toHaveLength(120);
    const rows = await driftOf(store).driftHistory(finding({ tag: 'v42' }));
    expect(rows.map((r) => [r.change, r.reportId])).toEqual([['opened', 'twice']]);
    client.destroy();
  }, 60_000);
});
