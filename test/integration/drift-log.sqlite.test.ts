import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteHistoryStore } from '../../shared/history';
import { describeDriftLog } from '../contract/drift-log.contract';

const dir = mkdtempSync(join(tmpdir(), 'tagwarden-drift-'));
let n = 0;
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describeDriftLog('sqlite', async () => {
  const store = new SqliteHistoryStore({ path: join(dir, `history-${++n}.db`) });
  return { drift: store.drift, outbox: store, close: () => store.close() };
});
