import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteHistoryStore } from '../../shared/history';
import { at, digestOf, noEffects, pushEvent } from '../support/events';
import { eventually } from '../support/tagwarden';

const dir = mkdtempSync(join(tmpdir(), 'tagwarden-checkpoint-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function writeEvents(store: SqliteHistoryStore, count: number) {
  for (let i = 0; i < count; i++) {
    store.applySync(pushEvent({ tag: `v${i}`, digest: digestOf(i), timestamp: at(i) }), noEffects, at(i));
  }
}

describe('SQLite WAL checkpoints off the request path', () => {
  it('copies committed pages into the database file from the background while the store stays open', async () => {
    const path = join(dir, 'background.db');
    const store = new SqliteHistoryStore({ path, backgroundCheckpointMs: 20 });
    const empty = statSync(path).size;
    writeEvents(store, 3000);
    // Commits never checkpoint now (wal_autocheckpoint is 0), so only the worker can grow the file.
    await eventually(
      async () => (statSync(path).size > empty * 4 ? true : undefined),
      'a background checkpoint',
    );
    await store.close();
    expect(statSync(`${path}-wal`, { throwIfNoEntry: false })?.size ?? 0).toBe(0);
  });

  it('leaves checkpoints to commits when no background interval is set', async () => {
    const path = join(dir, 'inline.db');
    const store = new SqliteHistoryStore({ path });
    writeEvents(store, 3000);
    expect(store.db.pragma('wal_autocheckpoint', { simple: true })).toBe(1000);
    await store.close();
  });
});
