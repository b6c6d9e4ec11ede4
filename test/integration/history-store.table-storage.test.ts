import { createServer, type Server } from 'node:http';
import { AzureNamedKeyCredential, TableClient } from '@azure/data-tables';
import {
  decide,
  PermanentError,
  type Policy,
  type RegistryEvent,
  ruleFor,
  TransientError,
  tagRefOf,
} from '../../shared/core';
import type { HistoryEntry } from '../../shared/history';
import {
  TableStorageHistoryStore,
  type TableStorageHistoryStoreOptions,
  tagPartition,
  type WriteConflict,
} from '../../shared/history/table-storage';
import { describeHistoryStore } from '../contract/history-store.contract';
import { AZURITE_ACCOUNT, AZURITE_KEY, type RunningAzurite, startAzurite } from '../support/azurite';
import { at, digestOf, noEffects, pushEvent } from '../support/events';
import { freePort } from '../support/tagwarden';

let az: RunningAzurite;
let tables = 0;

beforeAll(async () => {
  az = await startAzurite();
}, 60_000);
afterAll(async () => {
  await az?.stop();
});

function tableClient(name: string): TableClient {
  return TableClient.fromConnectionString(az.connectionString, name, { allowInsecureConnection: true });
}

async function freshStore(options: TableStorageHistoryStoreOptions = {}): Promise<TableStorageHistoryStore> {
  const store = new TableStorageHistoryStore(tableClient(`history${++tables}`), options);
  await store.ensureTable();
  return store;
}

describeHistoryStore('azurite', () => freshStore(), { propertyRuns: 25 });

const revertPolicy: Policy = {
  defaults: { action: 'alert', owners: [], bump: false },
  rules: [{ match: { repository: '**' }, action: 'revert', owners: ['#payments'], bump: false }],
};

/** Each row's previousDigest is what the rows before it left the tag serving: no write was lost. */
function expectUnbrokenChain(rows: HistoryEntry[]): void {
  let serving: string | null = null;
  for (const row of rows) {
    expect(row.previousDigest).toBe(serving);
    if (row.transition !== 'stale') serving = row.digest ?? serving;
  }
}

describe('Table Storage history with two stores writing one tag', () => {
  it('serializes two writers through the ETag: one first-seen, no lost transition, newest event wins, 412s retried', async () => {
    const tableName = `race${++tables}`;
    const conflicts: WriteConflict[] = [];
    // Two clients, as two Function App instances would have: nothing is shared but the table.
    const stores = [0, 1].map(
      () => new TableStorageHistoryStore(tableClient(tableName), { onConflict: (c) => conflicts.push(c) }),
    );
    await Promise.all(stores.map((s) => s.ensureTable()));
    const picks = Array.from({ length: 120 }, (_, i) => Math.floor(i / 3) % 3);
    const events = picks.map((p, i) =>
      pushEvent({ id: `race-${i}`, digest: digestOf(p), timestamp: at(i + 1) }),
    );
    // Each store takes every other event, in time order, at the same time as the other; then every
    // event is delivered once more by the store that did not have it (all must be duplicates).
    const deliver = (store: TableStorageHistoryStore, list: RegistryEvent[]) =>
      (async () => {
        const kinds: [string, string][] = [];
        for (const event of list)
          kinds.push([event.id, (await store.apply(event, noEffects, at(1000))).transition.kind]);
        return kinds;
      })();
    const halves = [0, 1].map((h) => events.filter((_, i) => i % 2 === h));
    const firstRound = (
      await Promise.all([deliver(stores[0]!, halves[0]!), deliver(stores[1]!, halves[1]!)])
    ).flat();
    const secondRound = (
      await Promise.all([deliver(stores[0]!, halves[1]!), deliver(stores[1]!, halves[0]!)])
    ).flat();

    expect(firstRound).toHaveLength(events.length);
    expect(firstRound.filter(([, k]) => k === 'duplicate')).toEqual([]);
    expect(secondRound.map(([, k]) => k)).toEqual(events.map(() => 'duplicate'));
    expect(firstRound.filter(([, k]) => k === 'first-seen')).toHaveLength(1);
    const ref = tagRefOf(events[0]!);
    const rows = await stores[0]!.history(ref);
    expect(rows.map((r) => r.seq)).toEqual(events.map((_, i) => i + 1));
    expect(new Set(rows.map((r) => r.eventId))).toEqual(new Set(events.map((e) => e.id)));
    expectUnbrokenChain(rows);
    // Every overwrite the writers reported is a digest change in the recorded chain, and vice versa.
    const moving = rows.filter((r) => r.transition !== 'stale');
    const changes = moving.filter((r, i) => i > 0 && r.digest !== moving[i - 1]!.digest).length;
    expect(firstRound.filter(([, k]) => k === 'overwrite')).toHaveLength(changes);
    expect((await stores[1]!.tagState(ref))?.digest).toBe(digestOf(picks.at(-1)!));
    // The race was real: writers lost If-Match updates (412) and retried.
    const lost = conflicts.filter((c) => c.status === 412).length;
    expect(lost).toBeGreaterThan(0);
    expect(conflicts.every((c) => c.operation === 'apply' && c.partitionKey === tagPartition(ref))).toBe(
      true,
    );
  }, 120_000);

  it('lets two workers claiming at once never claim the same effect, and together claim them all', async () => {
    const tableName = `claims${++tables}`;
    const conflicts: WriteConflict[] = [];
    const stores = [0, 1].map(
      () => new TableStorageHistoryStore(tableClient(tableName), { onConflict: (c) => conflicts.push(c) }),
    );
    await stores[0]!.ensureTable();
    // Twelve tags overwritten under a revert rule: 24 effects in 12 partitions.
    for (let i = 0; i < 12; i++) {
      const tag = `v${i}`;
      await stores[0]!.apply(
        pushEvent({ tag, digest: digestOf('a'), timestamp: at(1) }),
        revertPolicy,
        at(100),
      );
      await stores[0]!.apply(
        pushEvent({ tag, digest: digestOf('b'), timestamp: at(2) }),
        revertPolicy,
        at(100),
      );
    }
    const [one, two] = await Promise.all(stores.map((s) => s.claimDueEffects(at(100), at(200), 100)));
    const keys = [...one!, ...two!].map((e) => e.key);
    expect(keys).toHaveLength(24);
    expect(new Set(keys).size).toBe(24);
    expect(conflicts.some((c) => c.operation === 'claimDueEffects' && c.status === 412)).toBe(true);
    expect(await stores[1]!.claimDueEffects(at(199), at(300), 100)).toEqual([]); // leased until 200
    expect(await stores[1]!.claimDueEffects(at(200), at(300), 100)).toHaveLength(24); // lease over
  });

  it('gives up with a TransientError once the retries are spent, and leaves nothing half-written', async () => {
    const conflicts: WriteConflict[] = [];
    const store = await freshStore({ maxAttempts: 1, onConflict: (c) => conflicts.push(c) });
    const other = new TableStorageHistoryStore(tableClient(`history${tables}`));
    const ref = tagRefOf(pushEvent());
    await store.apply(pushEvent({ digest: digestOf('a'), timestamp: at(1) }), noEffects, at(1000));
    // Race it against another store, which starts first, until it loses once; with one attempt
    // allowed, that loss is final.
    let failure: unknown = null;
    for (let i = 0; i < 50 && failure === null; i++) {
      const results = await Promise.allSettled([
        other.apply(pushEvent({ digest: digestOf(-i), timestamp: at(11 + 2 * i) }), noEffects, at(1000)),
        store.apply(pushEvent({ digest: digestOf(i), timestamp: at(10 + 2 * i) }), noEffects, at(1000)),
      ]);
      expect(results[0].status).toBe('fulfilled');
      if (results[1].status === 'rejected') failure = results[1].reason;
    }
    expect(failure).toBeInstanceOf(TransientError);
    expect((failure as Error).message).toMatch(/gave up on apply .* after 1 conflicting writes/);
    expect(conflicts).toHaveLength(1);
    // The losing event left no row: history numbers stay contiguous and match the state's count.
    const rows = await store.history(ref);
    expect(rows.map((r) => r.seq)).toEqual(rows.map((_, i) => i + 1));
    expectUnbrokenChain(rows);
  }, 60_000);
});

describe('Table Storage outbox', () => {
  it('records an event whose effects were queued before under the same keys, keeping the queued ones', async () => {
    const store = await freshStore();
    await store.apply(pushEvent({ digest: digestOf('a'), timestamp: at(1) }), revertPolicy, at(100));
    const overwrite = pushEvent({ digest: digestOf('b'), timestamp: at(2) });
    const planned = decide(
      { kind: 'overwrite', from: digestOf('a'), to: digestOf('b') },
      ruleFor(revertPolicy, overwrite),
      overwrite,
      at(2),
      null,
    );
    await store.enqueueEffects(overwrite.id, planned.slice(1), at(50)); // the alert, queued earlier
    const result = await store.apply(overwrite, revertPolicy, at(100));
    expect(result.transition.kind).toBe('overwrite');
    const effects = await store.effectsOf(overwrite.id);
    // One row per key; the alert is the one queued at 50 (position 0 in its own enqueue), not a second.
    expect(Object.fromEntries(effects.map((e) => [e.kind, e.nextAttemptAt]))).toEqual({
      revert: at(100),
      alert: at(50),
    });
    expect(effects).toHaveLength(2);
  });
});

describe('Table Storage keys', () => {
  const hostile = {
    registryHost: 'registry.example:5000',
    repository: "team/a#b?c\\d|e~2Ff%25g'h",
    tag: 'v1\u0001\u007f\u0085é',
  };
  const hostileId = "evt#1/2?3\\4%5|6~7'8\u0000\u001f\u{1F600}ünï";

  it('round-trips repositories, tags and event ids with every character keys reject', async () => {
    const store = await freshStore();
    const ref = tagRefOf(pushEvent(hostile));
    await store.apply(
      pushEvent({ ...hostile, id: 'seed', digest: digestOf('a'), timestamp: at(1) }),
      revertPolicy,
      at(100),
    );
    const overwrite = pushEvent({ ...hostile, id: hostileId, digest: digestOf('b'), timestamp: at(2) });
    expect((await store.apply(overwrite, revertPolicy, at(100))).transition.kind).toBe('overwrite');
    expect((await store.apply(overwrite, revertPolicy, at(100))).transition.kind).toBe('duplicate');

    expect(await store.tagState(ref)).toMatchObject({ digest: digestOf('b'), eventId: hostileId });
    const rows = await store.history(ref);
    expect(rows.map((r) => [r.eventId, r.repository, r.tag, r.registryHost])).toEqual([
      ['seed', hostile.repository, hostile.tag, hostile.registryHost],
      [hostileId, hostile.repository, hostile.tag, hostile.registryHost],
    ]);
    const effects = await store.effectsOf(hostileId);
    expect(effects.map((e) => e.key)).toEqual([`${hostileId}#revert`, `${hostileId}#alert`]);
    expect(effects[0]!.effect).toMatchObject({ incident: { eventId: hostileId, ref } });
    await store.updateEffect(`${hostileId}#revert`, { status: 'done', outcome: 'reverted' }, at(101));
    expect((await store.effectsOf(hostileId))[0]).toMatchObject({ status: 'done', outcome: 'reverted' });
    expect(
      await store.markPendingRestore(ref, { digest: digestOf('a'), from: digestOf('b'), until: at(900) }),
    ).toBe(true);
    expect((await store.tagState(ref))?.pendingRestore?.from).toBe(digestOf('b'));
  });

  it('keeps tags apart whose names would run together if separators or escapes were left raw', async () => {
    const store = await freshStore();
    const lookalikes = [
      { registryHost: 'h', repository: 'a|b', tag: 'c' },
      { registryHost: 'h', repository: 'a', tag: 'b|c' },
      { registryHost: 'h', repository: 'x/y', tag: 'c' },
      { registryHost: 'h', repository: 'x~2Fy', tag: 'c' },
      { registryHost: 'h', repository: 'x%2Fy', tag: 'c' },
    ];
    for (const [i, names] of lookalikes.entries())
      await store.apply(pushEvent({ ...names, digest: digestOf(i), timestamp: at(1) }), noEffects, at(100));
    for (const [i, names] of lookalikes.entries()) {
      expect((await store.tagState(names))?.digest).toBe(digestOf(i));
      expect(await store.history(names)).toHaveLength(1);
    }
    expect(new Set(lookalikes.map(tagPartition)).size).toBe(lookalikes.length);
  });

  it('stores a tag whose encoded name is longer than a key may be (512 characters) under a hash', async () => {
    const store = await freshStore();
    const long = { registryHost: 'h', repository: `org/${'deep/'.repeat(120)}app`, tag: 'v1' };
    const id = `#${'x'.repeat(600)}`;
    expect(tagPartition(long).length).toBeLessThanOrEqual(512);
    await store.apply(pushEvent({ ...long, digest: digestOf('a'), timestamp: at(1) }), revertPolicy, at(100));
    await store.apply(
      pushEvent({ ...long, id, digest: digestOf('b'), timestamp: at(2) }),
      revertPolicy,
      at(100),
    );
    expect(await store.tagState(long)).toMatchObject({
      digest: digestOf('b'),
      approvedDigest: digestOf('a'),
    });
    expect((await store.effectsOf(id)).map((e) => e.kind)).toEqual(['revert', 'alert']);
    expect(
      (await store.apply(pushEvent({ ...long, id, digest: digestOf('b') }), noEffects, at(100))).transition,
    ).toEqual({ kind: 'duplicate' });
  });
});

describe('Table Storage failed records', () => {
  it('returns a 1 MiB payload byte-identical, split across chunk rows, surrogate pairs on the boundaries included', async () => {
    const store = await freshStore();
    // 30 000 is the property size the store splits at: put a surrogate pair across it, and more of everything.
    const head = `${'a'.repeat(29_999)}\u{1F600}`;
    const body = `{"q":"\\"'<>&\u0000\u0001\u007f\u0085 é 日本 \u{1F680}",${'"k":"v",'.repeat(8)}`;
    const payload = head + body.repeat(Math.floor((1024 * 1024 - head.length) / Buffer.byteLength(body)));
    expect(Buffer.byteLength(payload)).toBeGreaterThan(1000 * 1024);
    expect(Buffer.byteLength(payload)).toBeLessThanOrEqual(1024 * 1024);
    await store.recordFailure({ source: 'acr', reason: 'events[0]: bad digest', payload, receivedAt: at(5) });
    await store.recordFailure({ source: 'ecr', reason: 'small', payload: '{}', receivedAt: at(6) });
    const [newest, large] = await store.failures(10);
    expect(newest).toMatchObject({ source: 'ecr', payload: '{}' });
    expect(large).toMatchObject({ source: 'acr', reason: 'events[0]: bad digest', receivedAt: at(5) });
    expect(Buffer.from(large!.payload).equals(Buffer.from(payload))).toBe(true);
    expect(large!.payload.length).toBe(payload.length);
    expect(newest!.id).not.toBe(large!.id);
  }, 60_000);

  it('keeps a payload that is not well-formed UTF-16 (a lone surrogate) exactly as given', async () => {
    const store = await freshStore();
    const payload = `${'é'.repeat(20_000)}\ud83d${'x'.repeat(50_000)}`;
    await store.recordFailure({ source: 'acr', reason: 'r', payload, receivedAt: at(1) });
    expect((await store.failures(1))[0]!.payload === payload).toBe(true);
  });

  it('lists the newest first and honours the limit, with equal receive times in the order recorded', async () => {
    let now = Date.UTC(2026, 10, 22, 12);
    const store = await freshStore({ clock: () => new Date(now++) });
    for (const source of ['one', 'two', 'three'])
      await store.recordFailure({ source, reason: 'r', payload: 'p', receivedAt: at(1) });
    await store.recordFailure({ source: 'older', reason: 'r', payload: 'p', receivedAt: at(0) });
    expect((await store.failures(10)).map((f) => f.source)).toEqual(['three', 'two', 'one', 'older']);
    expect((await store.failures(2)).map((f) => f.source)).toEqual(['three', 'two']);
  });
});

describe('Table Storage errors', () => {
  let server: Server;
  let port: number;
  interface Answer {
    status: number;
    headers?: Record<string, string>;
    body?: string;
  }
  let answer: Answer;
  /** What a transaction (POST /$batch) gets, when it should differ from every other request. */
  let batchAnswer: Answer | null = null;
  const requests: string[] = [];

  beforeAll(async () => {
    port = await freePort();
    server = createServer((req, res) => {
      requests.push(`${req.method} ${req.url}`);
      req.resume();
      const reply = req.url?.endsWith('/$batch') && batchAnswer ? batchAnswer : answer;
      if (reply.status === 200 && ['PUT', 'MERGE', 'PATCH'].includes(req.method ?? '')) {
        res.writeHead(204).end(); // an upsert that went through, as the service answers it
        return;
      }
      res.writeHead(reply.status, { 'content-type': 'application/json', ...reply.headers });
      res.end(reply.body ?? '');
    });
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  });
  afterAll(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  /** A store whose service is the local server; the SDK's own retries are off so one answer decides. */
  function storeAt(url: string): TableStorageHistoryStore {
    const client = new TableClient(
      url,
      'history',
      new AzureNamedKeyCredential(AZURITE_ACCOUNT, AZURITE_KEY),
      {
        allowInsecureConnection: true,
        retryOptions: { maxRetries: 0 },
      },
    );
    return new TableStorageHistoryStore(client);
  }
  const odataError = (code: string, message: string) =>
    JSON.stringify({
      'odata.error': { code, message: { lang: 'en-US', value: `${message}\nRequestId:1\nTime:now` } },
    });

  it('surfaces a 503 from the service as a TransientError, on reads and on the apply transaction', async () => {
    answer = { status: 503, body: odataError('ServerBusy', 'The server is busy.') };
    const store = storeAt(`http://127.0.0.1:${port}/${AZURITE_ACCOUNT}`);
    const before = requests.length;
    await expect(store.tagState(tagRefOf(pushEvent()))).rejects.toBeInstanceOf(TransientError);
    await expect(store.apply(pushEvent(), noEffects, at(1))).rejects.toThrow(
      /503 ServerBusy: The server is busy\./,
    );
    await expect(store.claimDueEffects(at(1), at(2), 10)).rejects.toBeInstanceOf(TransientError);
    expect(requests.length - before).toBe(3); // it reached the server each time: no retry hid the 503

    // The reads (an empty tag) and the digest index's upsert succeed; the transaction itself gets the 503.
    answer = { status: 200, body: JSON.stringify({ value: [] }) };
    batchAnswer = { status: 503, body: odataError('ServerBusy', 'The server is busy.') };
    try {
      const error = await store.apply(pushEvent(), noEffects, at(1)).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(TransientError);
      expect((error as Error).message).toMatch(
        /^record evt-.* on 127\.0\.0\.1:5000\/payments\/api:v1\.0\.0: .*503/,
      );
      expect(requests.at(-1)).toMatch(/^POST .*\/\$batch$/);
    } finally {
      batchAnswer = null;
    }
  });

  it('keeps the Retry-After of a 429 on the TransientError', async () => {
    answer = {
      status: 429,
      headers: { 'retry-after': '7' },
      body: odataError('TooManyRequests', 'Slow down.'),
    };
    const error = await storeAt(`http://127.0.0.1:${port}/${AZURITE_ACCOUNT}`)
      .tagState(tagRefOf(pushEvent()))
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TransientError);
    expect((error as TransientError).retryAfterMs).toBe(7000);
  });

  it('turns a 403 into a PermanentError naming what failed and why', async () => {
    answer = { status: 403, body: odataError('AuthorizationFailure', 'This request is not authorized.') };
    const error = await storeAt(`http://127.0.0.1:${port}/${AZURITE_ACCOUNT}`)
      .recordFailure({ source: 'acr', reason: 'r', payload: 'p', receivedAt: at(1) })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PermanentError);
    expect((error as Error).message).toBe(
      'record a failed acr body: Table Storage answered 403 AuthorizationFailure: This request is not authorized.',
    );
  });

  it('treats a service that does not answer at all as transient', async () => {
    const closed = await freePort();
    await expect(
      storeAt(`http://127.0.0.1:${closed}/${AZURITE_ACCOUNT}`).tagState(tagRefOf(pushEvent())),
    ).rejects.toBeInstanceOf(TransientError);
  });

  it('reports a table name the real service refuses as a PermanentError from ensureTable', async () => {
    const store = new TableStorageHistoryStore(tableClient('no-dashes-allowed'));
    await expect(store.ensureTable()).rejects.toBeInstanceOf(PermanentError);
  });
});
