import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { tagRefOf } from '../../shared/core';
import { createHistoryTable, DynamoDbHistoryStore } from '../../shared/history/dynamodb';
import { describeHistoryStore } from '../contract/history-store.contract';
import { type RunningDynamoDb, startDynamoDbLocal } from '../support/dynamodb-local';
import { at, digestOf, noEffects, pushEvent } from '../support/events';

let dynamo: RunningDynamoDb;
let tables = 0;

beforeAll(async () => {
  dynamo = await startDynamoDbLocal();
}, 60_000);
afterAll(async () => {
  await dynamo?.stop();
});

async function freshStore(): Promise<DynamoDbHistoryStore> {
  const tableName = `history-${++tables}`;
  await createHistoryTable(dynamo.client, tableName);
  return new DynamoDbHistoryStore({ client: dynamo.client, tableName });
}

describeHistoryStore('dynamodb-local', freshStore, { propertyRuns: 25 });

describe('DynamoDB history with two clients writing one tag', () => {
  it('applies every event once and finds exactly one overwrite per real change when both deliver everything', async () => {
    const tableName = `race-${++tables}`;
    await createHistoryTable(dynamo.client, tableName);
    // Two clients, as two Lambda containers would have: nothing is shared but the table.
    const clients = [0, 1].map(
      () =>
        new DynamoDBClient({
          region: 'us-east-1',
          endpoint: dynamo.endpoint,
          credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
        }),
    );
    const stores = clients.map((client) => new DynamoDbHistoryStore({ client, tableName }));
    const picks = Array.from({ length: 200 }, (_, i) => Math.floor(i / 4) % 3);
    const events = picks.map((p, i) =>
      pushEvent({ id: `race-${i}`, digest: digestOf(p), timestamp: at(i + 1) }),
    );
    const kinds = (
      await Promise.all(
        stores.map(async (store) => {
          const out: string[] = [];
          for (const event of events)
            out.push((await store.apply(event, noEffects, at(1000))).transition.kind);
          return out;
        }),
      )
    ).flat();
    const realChanges = picks.filter((p, i) => i > 0 && p !== picks[i - 1]).length;
    expect(kinds.filter((k) => k === 'duplicate')).toHaveLength(events.length);
    expect(kinds.filter((k) => k === 'first-seen')).toHaveLength(1);
    expect(kinds.filter((k) => k === 'overwrite')).toHaveLength(realChanges);
    const ref = tagRefOf(events[0]!);
    expect(await stores[0]!.history(ref)).toHaveLength(events.length);
    expect((await stores[1]!.tagState(ref))?.digest).toBe(digestOf(picks.at(-1)!));
    for (const client of clients) client.destroy();
  }, 120_000);
});
