import { PostgresHistoryStore } from '../../shared/history/postgres';
import { describeHistoryStore } from '../contract/history-store.contract';
import { type RunningPostgres, startPostgres } from '../support/postgres';

let pg: RunningPostgres;
let databases = 0;

beforeAll(async () => {
  pg = await startPostgres();
}, 60_000);
afterAll(async () => {
  await pg?.stop();
});

/** A database per store: each test starts empty, and opening it runs the migration. */
async function freshStore(): Promise<PostgresHistoryStore> {
  return PostgresHistoryStore.open({ url: await pg.createDatabase(`history_${++databases}`) });
}

describeHistoryStore('postgres', freshStore, { propertyRuns: 25 });
