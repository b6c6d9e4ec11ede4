import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteHistoryStore } from '../../shared/history';
import { describeHistoryStore } from '../contract/history-store.contract';

const dir = mkdtempSync(join(tmpdir(), 'tagwarden-sqlite-'));
let n = 0;
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// A real file per test (WAL needs one), so the contract runs on what `serve` runs on.
describeHistoryStore('sqlite', async () => new SqliteHistoryStore({ path: join(dir, `history-${++n}.db`) }), {
  propertyRuns: 100,
  outboxDepth: true,
});
