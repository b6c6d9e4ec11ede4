import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, PutCommand } from '@aws-sdk/lib-dynamodb';
import { formatTagRef, type Policy, type RegistryEvent, tagRefOf } from '../../shared/core';
import type { HistoryEntry } from '../../shared/history';
import {
  createHistoryTable,
  type DynamoDbConflict,
  DynamoDbHistoryStore,
} from '../../shared/history/dynamodb';
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

const revertPolicy: Policy = {
  defaults: { action: 'alert', owners: [], bump: false },
  rules: [{ match: { repository: '**' }, action: 'revert', owners: ['#payments'], bump: false }],
};

/** A client of its own, as each Lambda container has: nothing is shared between two but the table. */
function ownClient(): DynamoDBClient {
  return new DynamoDBClient({
    region: 'us-east-1',
    endpoint: dynamo.endpoint,
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
}

/** Two stores on one fresh table, each with its own client, their lost conditional writes collected. */
async function rivalStores(prefix: string) {
  const tableName = `${prefix}-${++tables}`;
  await createHistoryTable(dynamo.client, tableName);
  const conflicts: DynamoDbConflict[] = [];
  const clients = [ownClient(), ownClient()];
  const stores = clients.map(
    (client) => new DynamoDbHistoryStore({ client, tableName, onConflict: (c) => conflicts.push(c) }),
  );
  return { clients, stores: stores as [DynamoDbHistoryStore, DynamoDbHistoryStore], conflicts };
}

/** Runs `between` once, after the client's store has read the tag and before its conditional write of it. */
function beforeNextStateWrite(client: DynamoDBClient, between: () => Promise<void>): void {
  let armed = true;
  client.middlewareStack.add(
    (next) => async (args) => {
      const input = args.input as object;
      if (armed && ('TransactItems' in input || 'ConditionExpression' in input)) {
        armed = false;
        await between();
      }
      return next(args);
    },
    { step: 'initialize' },
  );
}

/** Each row's previousDigest is what the rows before it left the tag serving: no write was lost. */
function expectUnbrokenChain(rows: HistoryEntry[]): void {
  let serving: string | null = null;
  for (const row of rows) {
    expect(row.previousDigest).toBe(serving);
    if (row.transition !== 'stale') serving = row.digest ?? serving;
  }
}

describe('DynamoDB history with two clients racing on an existing tag', () => {
  it('serializes different events applied at once: no lost update, every digest kept, conflicts retried', async () => {
    const { clients, stores, conflicts } = await rivalStores('apart');
    const seed = pushEvent({ id: 'seed', digest: digestOf('seed'), timestamp: at(0) });
    await stores[0].apply(seed, noEffects, at(1000));
    const picks = Array.from({ length: 60 }, (_, i) => Math.floor(i / 2) % 3);
    const events = picks.map((p, i) =>
      pushEvent({ id: `apart-${i}`, digest: digestOf(p), timestamp: at(i + 1) }),
    );
    const deliver = async (store: DynamoDbHistoryStore, list: RegistryEvent[]) => {
      const kinds: string[] = [];
      for (const event of list) kinds.push((await store.apply(event, noEffects, at(1000))).transition.kind);
      return kinds;
    };
    // Each client takes every other event, both at once: every write meets a tag the other just moved.
    const halves = [0, 1].map((h) => events.filter((_, i) => i % 2 === h));
    const kinds = (
      await Promise.all([deliver(stores[0], halves[0]!), deliver(stores[1], halves[1]!)])
    ).flat();

    expect(kinds).not.toContain('duplicate');
    expect(kinds).not.toContain('first-seen');
    const ref = tagRefOf(seed);
    const rows = await stores[0].history(ref);
    expect(rows.map((r) => r.seq)).toEqual([seed, ...events].map((_, i) => i + 1));
    expect(new Set(rows.map((r) => r.eventId))).toEqual(new Set([seed, ...events].map((e) => e.id)));
    expect(new Set(rows.map((r) => r.digest))).toEqual(new Set([seed.digest, ...picks.map(digestOf)]));
    expectUnbrokenChain(rows);
    const moving = rows.filter((r) => r.transition !== 'stale');
    const changes = moving.filter((r, i) => i > 0 && r.digest !== moving[i - 1]!.digest).length;
    expect(kinds.filter((k) => k === 'overwrite')).toHaveLength(changes);
    expect((await stores[1].tagState(ref))?.digest).toBe(digestOf(picks.at(-1)!));
    // The race was real: transactions lost their compare-and-set and were re-read and re-decided.
    expect(conflicts.filter((c) => c.operation === 'apply').length).toBeGreaterThan(0);
    for (const client of clients) client.destroy();
  }, 120_000);

  it('keeps a pending restore marked between another writer reading the tag and writing it', async () => {
    const { clients, stores, conflicts } = await rivalStores('restore');
    const [writer, reverter] = stores;
    const ref = tagRefOf(pushEvent());
    await reverter.apply(pushEvent({ digest: digestOf('a'), timestamp: at(1) }), noEffects, at(1000));
    await reverter.apply(pushEvent({ digest: digestOf('b'), timestamp: at(2) }), noEffects, at(1000));
    const restore = { digest: digestOf('a'), from: digestOf('b'), until: at(2000) };
    let marked: boolean | null = null;
    beforeNextStateWrite(clients[0]!, async () => {
      marked = await reverter.markPendingRestore(ref, restore);
    });
    const rePush = await writer.apply(
      pushEvent({ digest: digestOf('b'), timestamp: at(3) }),
      noEffects,
      at(1000),
    );

    expect(marked).toBe(true);
    expect(rePush.transition).toEqual({ kind: 'unchanged', digest: digestOf('b') });
    expect(conflicts).toEqual([{ operation: 'apply', key: expect.any(String), attempt: 1 }]);
    expect((await writer.tagState(ref))?.pendingRestore).toEqual(restore);
    const echo = await writer.apply(
      pushEvent({ digest: digestOf('a'), timestamp: at(4) }),
      noEffects,
      at(1000),
    );
    expect(echo.transition).toEqual({ kind: 'restored', digest: digestOf('a'), replaced: digestOf('b') });
    for (const client of clients) client.destroy();
  }, 60_000);

  it('lets two workers claiming at once never claim one effect twice, and together claim them all', async () => {
    const { clients, stores, conflicts } = await rivalStores('claims');
    // Ten tags overwritten under a revert rule: 20 effects (a revert and an alert each).
    for (let i = 0; i < 10; i++) {
      await stores[0].apply(
        pushEvent({ tag: `v${i}`, digest: digestOf('a'), timestamp: at(1) }),
        revertPolicy,
        at(100),
      );
      await stores[0].apply(
        pushEvent({ tag: `v${i}`, digest: digestOf('b'), timestamp: at(2) }),
        revertPolicy,
        at(100),
      );
    }
    const [one, two] = await Promise.all(stores.map((s) => s.claimDueEffects(at(100), at(200), 100)));
    const keys = [...one!, ...two!].map((e) => e.key);
    expect(keys).toHaveLength(20);
    expect(new Set(keys).size).toBe(20);
    expect(conflicts.filter((c) => c.operation === 'claimDueEffects').length).toBeGreaterThan(0);
    expect(await stores[1].claimDueEffects(at(199), at(300), 100)).toEqual([]); // leased until 200
    expect(await stores[1].claimDueEffects(at(200), at(300), 100)).toHaveLength(20); // lease over
    for (const client of clients) client.destroy();
  }, 60_000);
});

describe('DynamoDB history written by the previous layout (users upgrading)', () => {
  // Before issue 12 item 5 every push was one transaction: an EVENT#<id> marker, the STATE item and
  // an H#<seq> history row. These are those items, byte for byte as that layout wrote them.
  it('reads the tag and its rows, knows its events as duplicates, and records on after them', async () => {
    const tableName = `legacy-${++tables}`;
    await createHistoryTable(dynamo.client, tableName);
    const [A, B, C] = ['a', 'b', 'c'].map(digestOf) as [string, string, string];
    const first = pushEvent({ id: 'old-1', digest: A, timestamp: at(1) });
    const second = pushEvent({ id: 'old-2', digest: B, timestamp: at(2) });
    const ref = tagRefOf(first);
    const pk = `TAG#${formatTagRef(ref)}`;
    const oldRow = (
      seq: number,
      event: RegistryEvent,
      previousDigest: string | null,
      transition: string,
    ) => ({
      pk,
      sk: `H#${String(seq).padStart(12, '0')}`,
      seq,
      eventId: event.id,
      action: event.action,
      registryHost: event.registryHost,
      repository: event.repository,
      tag: event.tag,
      digest: event.digest,
      previousDigest,
      transition,
      eventTime: event.timestamp,
      receivedAt: at(1000),
      actor: event.actor,
    });
    const doc = DynamoDBDocumentClient.from(dynamo.client);
    for (const Item of [
      { pk: 'EVENT#old-1', sk: 'EVENT', tagRef: formatTagRef(ref) },
      { pk: 'EVENT#old-2', sk: 'EVENT', tagRef: formatTagRef(ref) },
      oldRow(1, first, null, 'first-seen'),
      oldRow(2, second, A, 'overwrite'),
      {
        pk,
        sk: 'STATE',
        digest: B,
        lastDigest: A,
        eventTime: at(2),
        eventId: 'old-2',
        pendingRestore: null,
        approvedDigest: B,
        version: 2,
        rows: 2,
      },
    ])
      await doc.send(new PutCommand({ TableName: tableName, Item }));
    const store = new DynamoDbHistoryStore({ client: dynamo.client, tableName });

    expect(await store.tagState(ref)).toMatchObject({ digest: B, approvedDigest: B, version: 2 });
    expect(await store.history(ref)).toEqual([
      expect.objectContaining({ seq: 1, eventId: 'old-1', digest: A, transition: 'first-seen' }),
      expect.objectContaining({
        seq: 2,
        eventId: 'old-2',
        digest: B,
        previousDigest: A,
        transition: 'overwrite',
      }),
    ]);
    expect((await store.apply(second, noEffects, at(1001))).transition.kind).toBe('duplicate');
    const third = pushEvent({ id: 'new-3', digest: C, timestamp: at(3) });
    expect((await store.apply(third, noEffects, at(1001))).transition).toEqual({
      kind: 'overwrite',
      from: B,
      to: C,
    });
    await store.apply(pushEvent({ id: 'new-4', digest: A, timestamp: at(4) }), noEffects, at(1001));
    // After the tag moved on in the new layout, old and new redeliveries alike are still duplicates.
    for (const again of [first, second, third])
      expect((await store.apply(again, noEffects, at(1002))).transition.kind).toBe('duplicate');
    const rows = await store.history(ref);
    expect(rows.map((r) => [r.seq, r.eventId, r.previousDigest, r.transition])).toEqual([
      [1, 'old-1', null, 'first-seen'],
      [2, 'old-2', A, 'overwrite'],
      [3, 'new-3', B, 'overwrite'],
      [4, 'new-4', C, 'overwrite'],
    ]);
    expect(rows[3]).toMatchObject({
      registryHost: ref.registryHost,
      repository: ref.repository,
      tag: ref.tag,
    });
    expect((await store.tagState(ref))?.digest).toBe(A);
  });
});
