// A second process for the SQLite race test: applies events to a shared file when told to go.
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import type { RegistryEvent } from '../../shared/core';
import { SqliteHistoryStore } from '../../shared/history';
import { noEffects } from './events';

const [dbPath, eventsPath] = process.argv.slice(2);
const events = JSON.parse(readFileSync(eventsPath!, 'utf8')) as RegistryEvent[];
const store = new SqliteHistoryStore({ path: dbPath! });
process.stdout.write('ready\n');
createInterface({ input: process.stdin }).once('line', () => {
  const kinds = events.map(
    (event) => store.applySync(event, noEffects, new Date().toISOString()).transition.kind,
  );
  store.db.close();
  process.stdout.write(`${JSON.stringify(kinds)}\n`);
  process.exit(0);
});
