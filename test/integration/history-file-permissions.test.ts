import { chmodSync, closeSync, mkdtempSync, openSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openHistory } from '../../functions/local/composition';
import { noEffects, pushEvent } from '../support/events';

const modeOf = (path: string) => statSync(path).mode & 0o777;

describe('the local history file (it keeps raw rejected payloads)', () => {
  let dir: string;
  let previousUmask: number;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'tagwarden-perm-'));
    previousUmask = process.umask(0o022); // the usual umask, which made them 0755 and 0644
  });
  afterEach(() => {
    process.umask(previousUmask);
    rmSync(dir, { recursive: true, force: true });
  });

  it('creates its directory 0700 and the database, -wal and -shm files 0600', async () => {
    const path = join(dir, '.tagwarden', 'history.db');
    const store = openHistory(path);
    await store.apply(pushEvent(), noEffects, new Date().toISOString()); // the WAL now holds a commit
    try {
      expect(modeOf(join(dir, '.tagwarden'))).toBe(0o700);
      for (const file of [path, `${path}-wal`, `${path}-shm`])
        expect([file, modeOf(file)]).toEqual([file, 0o600]);
    } finally {
      await store.close();
    }
  });

  it('tightens a database file an older version left readable by others', async () => {
    const path = join(dir, 'history.db');
    closeSync(openSync(path, 'w'));
    chmodSync(path, 0o644);
    const store = openHistory(path, { mustExist: true });
    await store.close();
    expect(modeOf(path)).toBe(0o600);
  });
});
