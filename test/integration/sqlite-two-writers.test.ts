import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildSync } from 'esbuild';
import { tagRefOf } from '../../shared/core';
import { SqliteHistoryStore } from '../../shared/history';
import { at, digestOf, pushEvent } from '../support/events';

const dir = mkdtempSync(join(tmpdir(), 'tagwarden-race-'));
const writer = join(dir, 'writer.cjs');

beforeAll(() => {
  buildSync({
    entryPoints: ['test/support/sqlite-writer.ts'],
    bundle: true,
    platform: 'node',
    format: 'cjs',
    outfile: writer,
    external: ['better-sqlite3'],
    logLevel: 'error',
  });
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function startWriter(dbPath: string, eventsPath: string) {
  const child = spawn(process.execPath, [writer, dbPath, eventsPath], {
    stdio: ['pipe', 'pipe', 'inherit'],
    env: { ...process.env, NODE_PATH: join(process.cwd(), 'node_modules') },
  });
  let out = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    out += chunk.toString();
  });
  const ready = waitFor(child, () => out.startsWith('ready\n'));
  const done = new Promise<string[]>((resolve, reject) => {
    child.once('exit', (code) =>
      code === 0 ? resolve(JSON.parse(out.split('\n')[1]!)) : reject(new Error(`writer exited ${code}`)),
    );
  });
  return { child, ready, done };
}

function waitFor(child: ChildProcess, condition: () => boolean): Promise<void> {
  return new Promise((resolve, reject) => {
    const check = () => (condition() ? resolve() : undefined);
    child.stdout!.on('data', check);
    child.once('exit', (code) => reject(new Error(`writer exited ${code} before it was ready`)));
  });
}

async function race(name: string, orders: [number[], number[]], picks: number[]) {
  const events = picks.map((p, i) =>
    pushEvent({ id: `${name}-${i}`, digest: digestOf(p), timestamp: at(i + 1) }),
  );
  const dbPath = join(dir, `${name}.db`);
  new SqliteHistoryStore({ path: dbPath }).db.close(); // create the schema before the race
  const writers = orders.map((order, w) => {
    const path = join(dir, `${name}-${w}.json`);
    writeFileSync(path, JSON.stringify(order.map((i) => events[i])));
    return startWriter(dbPath, path);
  });
  await Promise.all(writers.map((w) => w.ready));
  for (const w of writers) w.child.stdin!.write('go\n');
  const [one, two] = await Promise.all(writers.map((w) => w.done));
  const store = new SqliteHistoryStore({ path: dbPath });
  const rows = await store.history(tagRefOf(events[0]!));
  const state = await store.tagState(tagRefOf(events[0]!));
  await store.close();
  return { events, kinds: [...one!, ...two!], rows, state };
}

describe('SQLite history with two processes writing one file', () => {
  it('applies every event once and finds exactly one overwrite per real change when both deliver in order', async () => {
    const picks = Array.from({ length: 1500 }, (_, i) => Math.floor(i / 3) % 4);
    const forward = [...picks.keys()];
    const { kinds, rows, state } = await race('in-order', [forward, forward], picks);
    const realChanges = picks.filter((p, i) => i > 0 && p !== picks[i - 1]).length;
    expect(kinds.filter((k) => k === 'duplicate')).toHaveLength(picks.length);
    expect(kinds.filter((k) => k === 'overwrite')).toHaveLength(realChanges);
    expect(kinds.filter((k) => k === 'first-seen')).toHaveLength(1);
    expect(rows).toHaveLength(picks.length);
    expect(state?.digest).toBe(digestOf(picks.at(-1)!));
  });

  it('never loses an update when one process delivers forwards and the other backwards', async () => {
    const picks = Array.from({ length: 1500 }, (_, i) => (i * 7) % 3);
    const forward = [...picks.keys()];
    const { events, kinds, rows, state } = await race('crossed', [forward, [...forward].reverse()], picks);
    expect(kinds.filter((k) => k === 'duplicate')).toHaveLength(picks.length);
    expect(kinds.filter((k) => k === 'first-seen')).toHaveLength(1);
    expect(new Set(rows.map((r) => r.eventId))).toEqual(new Set(events.map((e) => e.id)));
    expect(state?.digest).toBe(digestOf(picks.at(-1)!));
    // Rows that moved the tag, in commit order, have strictly increasing event times (a late push
    // found `overwritten` keeps the tag where it is, like a stale one).
    const moving = rows.filter((r) => r.transition !== 'stale' && r.transition !== 'overwritten');
    for (let i = 1; i < moving.length; i++)
      expect(moving[i]!.eventTime > moving[i - 1]!.eventTime).toBe(true);
  });
});
