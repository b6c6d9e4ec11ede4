import type { AddressInfo } from 'node:net';
import { createServer } from 'node:net';
import { Pool } from 'pg';
import { SlackResponseSender } from '../../shared/adapters/notify/slack-response';
import { formatTagRef, type Policy, tagRefOf } from '../../shared/core';
import { handleSlackAction } from '../../shared/guard/slack-action';
import type { HistoryEntry } from '../../shared/history';
import {
  MIGRATIONS,
  migrate,
  type PostgresConflict,
  PostgresHistoryStore,
} from '../../shared/history/postgres';
import { describeHistoryBrowser } from '../contract/history-browser.contract';
import { describeHistoryStore } from '../contract/history-store.contract';
import { at, digestOf, noEffects, pushEvent } from '../support/events';
import { beforeNext, type RunningPostgres, startPostgres } from '../support/postgres';
import { signedSlackClick } from '../support/slack-clicks';

let pg: RunningPostgres;
let schemas = 0;

beforeAll(async () => {
  pg = await startPostgres();
}, 60_000);
afterAll(async () => {
  await pg?.stop();
});

/** A schema per store: each test starts empty, and opening it runs the migration. */
async function freshStore(): Promise<PostgresHistoryStore> {
  return PostgresHistoryStore.open({ url: await pg.createSchema(`history_${++schemas}`) });
}

describeHistoryStore('postgres', freshStore, { propertyRuns: 25, outboxDepth: true });
describeHistoryBrowser('postgres', freshStore);

const revertPolicy: Policy = {
  defaults: { action: 'alert', owners: [], bump: false },
  rules: [{ match: { repository: '**' }, action: 'revert', owners: ['#payments'], bump: false }],
};

/** A pool of its own, as each replica has: nothing is shared between two but the database. */
function ownPool(url: string): Pool {
  return new Pool({ connectionString: url, max: 4 });
}

/** Two stores on one fresh schema, each with its own pool, their lost compare-and-sets collected. */
async function rivalStores() {
  const url = await pg.createSchema(`rivals_${++schemas}`);
  const conflicts: PostgresConflict[] = [];
  const pools = [ownPool(url), ownPool(url)] as const;
  const stores = await Promise.all(
    pools.map((pool) => PostgresHistoryStore.open({ pool, onConflict: (c) => conflicts.push(c) })),
  );
  const close = async () => {
    for (const pool of pools) await pool.end();
  };
  return { pools, stores: stores as [PostgresHistoryStore, PostgresHistoryStore], conflicts, close };
}

/** Each row's previousDigest is what the rows before it left the tag serving: no write was lost. */
function expectUnbrokenChain(rows: HistoryEntry[]): void {
  let serving: string | null = null;
  for (const row of rows) {
    expect(row.previousDigest).toBe(serving);
    if (row.transition !== 'stale') serving = row.digest ?? serving;
  }
}

describe('PostgreSQL history with two replicas racing on one tag', () => {
  it('loses the compare-and-set on a tag the other moved between its read and its write, and retries from the read', async () => {
    const { pools, stores, conflicts, close } = await rivalStores();
    await stores[0].apply(
      pushEvent({ id: 'seed', digest: digestOf('a'), timestamp: at(1) }),
      noEffects,
      at(1000),
    );
    const theirs = pushEvent({ id: 'theirs', digest: digestOf('b'), timestamp: at(2) });
    const ours = pushEvent({ id: 'ours', digest: digestOf('c'), timestamp: at(3) });
    // Replica 0 has read the tag at A; replica 1 moves it to B before replica 0 writes.
    beforeNext(pools[0], /^UPDATE tags SET \(/, () => stores[1].apply(theirs, revertPolicy, at(1000)));
    const result = await stores[0].apply(ours, revertPolicy, at(1000));
    expect(conflicts).toEqual([{ eventId: 'ours', reason: 'tag-moved' }]);
    expect(result.transition).toEqual({ kind: 'overwrite', from: digestOf('b'), to: digestOf('c') });
    const rows = await stores[1].history(tagRefOf(ours));
    expect(rows.map((r) => r.eventId)).toEqual(['seed', 'theirs', 'ours']);
    expectUnbrokenChain(rows);
    expect((await stores[1].effectsOf('ours')).map((e) => e.kind)).toEqual(['revert', 'alert']);
    await close();
  });

  it('lets one of two first pushes of a new tag insert it: the other conflicts and finds the first', async () => {
    const { pools, stores, conflicts, close } = await rivalStores();
    const first = pushEvent({ id: 'first', digest: digestOf('a'), timestamp: at(1) });
    const second = pushEvent({ id: 'second', digest: digestOf('b'), timestamp: at(2) });
    beforeNext(pools[0], /^INSERT INTO tags/, () => stores[1].apply(first, noEffects, at(1000)));
    const result = await stores[0].apply(second, noEffects, at(1000));
    expect(conflicts).toEqual([{ eventId: 'second', reason: 'tag-moved' }]);
    expect(result.transition).toEqual({ kind: 'overwrite', from: digestOf('a'), to: digestOf('b') });
    await close();
  });

  it('records an event both replicas received at once one time: the second finds it recorded and is a duplicate', async () => {
    const { pools, stores, conflicts, close } = await rivalStores();
    const stale = pushEvent({ id: 'late', digest: digestOf('a'), timestamp: at(1) });
    await stores[0].apply(pushEvent({ digest: digestOf('b'), timestamp: at(2) }), noEffects, at(1000));
    await stores[0].apply(pushEvent({ digest: digestOf('b'), timestamp: at(3) }), noEffects, at(1000));
    // A stale event moves no tag: replica 1 records it while replica 0 is between its read and its
    // version check, which still passes; the history row's unique event id is what catches it.
    beforeNext(pools[0], /^UPDATE tags SET version = version /, () =>
      stores[1].apply(stale, noEffects, at(1000)),
    );
    const result = await stores[0].apply(stale, noEffects, at(1000));
    expect(conflicts).toEqual([{ eventId: 'late', reason: 'event-recorded' }]);
    expect(result.transition.kind).toBe('duplicate');
    expect((await stores[1].history(tagRefOf(stale))).filter((r) => r.eventId === 'late')).toHaveLength(1);
    await close();
  });

  it('applies every event once and one overwrite per real change when both replicas deliver everything', async () => {
    const { stores, close } = await rivalStores();
    const picks = Array.from({ length: 120 }, (_, i) => Math.floor(i / 4) % 3);
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
    const rows = await stores[0].history(tagRefOf(events[0]!));
    expect(rows).toHaveLength(events.length);
    expectUnbrokenChain(rows);
    await close();
  }, 60_000);
});

describe('PostgreSQL outbox with two replicas claiming', () => {
  it('skips effects another replica holds locked mid-claim instead of waiting for or taking them', async () => {
    const { pools, stores, close } = await rivalStores();
    await stores[0].apply(pushEvent({ digest: digestOf('a'), timestamp: at(1) }), noEffects, at(1000));
    const overwrite = pushEvent({ digest: digestOf('b'), timestamp: at(2) });
    await stores[0].apply(overwrite, revertPolicy, at(1000));
    const holder = await pools[1].connect();
    await holder.query('BEGIN');
    await holder.query('SELECT key FROM outbox WHERE key = $1 FOR UPDATE', [`${overwrite.id}#revert`]);
    const claimed = await stores[0].claimDueEffects(at(1000), at(1010), 10);
    expect(claimed.map((e) => e.key)).toEqual([`${overwrite.id}#alert`]);
    await holder.query('ROLLBACK');
    holder.release();
    expect((await stores[0].claimDueEffects(at(1000), at(1010), 10)).map((e) => e.key)).toEqual([
      `${overwrite.id}#revert`,
    ]);
    await close();
  });

  it('never hands one effect to both replicas claiming at once, and hands out every one', async () => {
    const { stores, close } = await rivalStores();
    await stores[0].apply(
      pushEvent({ tag: 't', digest: digestOf('seed'), timestamp: at(0) }),
      noEffects,
      at(0),
    );
    const events = Array.from({ length: 40 }, (_, i) =>
      pushEvent({ tag: 't', digest: digestOf(i), timestamp: at(i + 1) }),
    );
    await stores[0].applyAll(events, revertPolicy, at(1000));
    const claimAll = async (store: PostgresHistoryStore) => {
      const keys: string[] = [];
      for (;;) {
        const batch = await store.claimDueEffects(at(1000), at(2000), 3);
        if (batch.length === 0) return keys;
        keys.push(...batch.map((e) => e.key));
      }
    };
    const [one, two] = await Promise.all(stores.map(claimAll));
    expect(new Set([...one!, ...two!]).size).toBe(one!.length + two!.length);
    expect(one!.length + two!.length).toBe(events.length * 2);
    expect(one!.length).toBeGreaterThan(0);
    expect(two!.length).toBeGreaterThan(0);
    await close();
  }, 60_000);
});

describe('A Slack click on two replicas of PostgreSQL', () => {
  const SECRET = 'test-signing-secret-0123456789ab';
  const NOW = new Date('2026-11-22T12:00:00.000Z');
  const APPROVER = 'U0APPROVER';
  const approvers: Policy = {
    defaults: { action: 'alert', owners: ['#ops', APPROVER], bump: false },
    rules: [],
  };

  it('approves once when both receive the same click at once: the other is a replay, and so is a later one', async () => {
    const { stores, close } = await rivalStores();
    const ref = tagRefOf(pushEvent());
    await stores[0].apply(pushEvent({ digest: digestOf('a'), timestamp: at(1) }), approvers, at(1));
    await stores[0].apply(pushEvent({ digest: digestOf('b'), timestamp: at(2) }), approvers, at(2));
    const posted: string[] = [];
    const log = { info: () => {}, warn: () => {}, error: () => {} };
    const fetchStub = (async (url: string) => {
      posted.push(url);
      return new Response('ok');
    }) as typeof fetch;
    const deps = stores.map((store) => ({
      signingSecret: SECRET,
      store,
      policy: approvers,
      log,
      responder: new SlackResponseSender({ log, fetch: fetchStub }),
      wake: () => {},
    }));
    const value = {
      kind: 'approve' as const,
      ref: formatTagRef(ref),
      from: digestOf('a'),
      to: digestOf('b'),
    };
    const request = signedSlackClick(value, { secret: SECRET, now: NOW, user: APPROVER });
    const answers = await Promise.all(deps.map((d) => handleSlackAction(d, request)));
    expect(answers.map((a) => a.status).sort()).toEqual([200, 401]);
    expect((await handleSlackAction(deps[0]!, request)).status).toBe(401);
    const rows = await stores[1].history(ref);
    expect(rows.filter((r) => r.actor?.startsWith(`approved by <@${APPROVER}>`))).toHaveLength(1);
    expect(posted).toHaveLength(1);
    await close();
  });
});

describe('PostgreSQL schema migration', () => {
  it('migrates once when several replicas start at once, and not again on the next start', async () => {
    const url = await pg.createSchema(`migrate_${++schemas}`);
    const stores = await Promise.all(Array.from({ length: 4 }, () => PostgresHistoryStore.open({ url })));
    const versions = await stores[0]!.pool.query<{ version: number }>('SELECT version FROM schema_version');
    expect(versions.rows).toEqual(MIGRATIONS.map((_, i) => ({ version: i + 1 })));
    expect(await migrate(stores[0]!.pool)).toEqual([]);
    for (const store of stores) await store.close();
  });
});

describe('a database that stops answering fails requests instead of holding them', () => {
  test('connecting to a server that accepts and never answers fails at connectTimeoutMs', async () => {
    const silent = createServer(() => {}); // accepts the TCP connection, never speaks
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const { port } = silent.address() as AddressInfo;
    try {
      await expect(
        PostgresHistoryStore.open({ url: `postgres://u:p@127.0.0.1:${port}/db`, connectTimeoutMs: 300 }),
      ).rejects.toThrow(/timeout/i);
    } finally {
      silent.close();
    }
  });

  test('a statement that waits past statementTimeoutMs is cancelled (here: migrating behind a held lock)', async () => {
    const url = await pg.createSchema(`history_${++schemas}`);
    const holder = new Pool({ connectionString: url, max: 1 });
    const client = await holder.connect();
    try {
      // Another replica migrating: it holds the migration lock, so this open's migration waits on it.
      await client.query('BEGIN');
      await client.query('SELECT pg_advisory_xact_lock($1)', [0x7461_6777]);
      await expect(PostgresHistoryStore.open({ url, statementTimeoutMs: 300 })).rejects.toThrow(
        /statement timeout/,
      );
    } finally {
      await client.query('ROLLBACK');
      client.release();
      await holder.end();
    }
    const store = await PostgresHistoryStore.open({ url });
    expect(
      await store.tagState({ registryHost: 'registry.example', repository: 'app', tag: 'v1' }),
    ).toBeNull();
    await store.close();
  });
});
