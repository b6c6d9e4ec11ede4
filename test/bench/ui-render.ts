// The web interface's render times (issue 17): the overview over 10,000 tags and a tag's timeline of
// 5,000 events, from the SQLite store to the HTML string, page by page as `serve` answers them.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { overviewPage, timelinePage } from '../../functions/local/ui/pages';
import { DEFAULT_LIMIT, listEffects, listTags, tagTimeline } from '../../functions/local/ui/queries';
import type { Policy, RegistryEvent } from '../../shared/core';
import { SqliteHistoryStore } from '../../shared/history';
import { digestOf } from '../support/events';

const quiet: Policy = { defaults: { action: 'allow', owners: [], bump: false }, rules: [] };
const HOST = 'registry.example.com';

function push(i: number, repository: string, tag: string, digest: string): RegistryEvent {
  const timestamp = new Date(Date.UTC(2026, 10, 1) + i * 1000).toISOString();
  return {
    id: `ui-${i}`,
    action: 'push',
    registryHost: HOST,
    repository,
    tag,
    digest,
    mediaType: null,
    timestamp,
    actor: 'ci',
  };
}

function median(samples: number[]): number {
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

async function timed(runs: number, work: () => Promise<unknown>): Promise<string> {
  const samples: number[] = [];
  for (let i = 0; i < runs; i++) {
    const start = performance.now();
    await work();
    samples.push(performance.now() - start);
  }
  return `${median(samples).toFixed(1)} ms (median of ${runs})`;
}

export async function benchUi(report: (name: string, value: string) => void): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'tagwarden-bench-ui-'));
  const store = new SqliteHistoryStore({ path: join(dir, 'history.db') });
  try {
    const tags = Array.from({ length: 10_000 }, (_, i) =>
      push(i, `team-${i % 50}/service-${i}`, 'v1', digestOf(i)),
    );
    store.applyAllSync(tags, quiet, new Date().toISOString());
    const moves = Array.from({ length: 5_000 }, (_, i) =>
      push(10_000 + i, 'team-0/busy', 'latest', digestOf(`busy-${i % 7}`)),
    );
    store.applyAllSync(moves, quiet, new Date().toISOString());
    const session = { csrf: 'bench' };
    const overview = async (cursor: number | null) => {
      const list = await listTags(store, {}, DEFAULT_LIMIT, cursor);
      const [pending, failed] = await Promise.all([
        listEffects(store, 'pending', 50),
        listEffects(store, 'failed', 50),
      ]);
      overviewPage({ list, pending, failed, drift: null }, session);
      return list.next;
    };
    const busy = { registryHost: HOST, repository: 'team-0/busy', tag: 'latest' };
    const timeline = async (cursor: number | null) => {
      const page = await tagTimeline(store, busy, DEFAULT_LIMIT, cursor);
      timelinePage(page, session);
      return page.next;
    };
    report(
      'ui overview, first page of 10,000 tags (100 rows, query + render)',
      await timed(20, () => overview(null)),
    );
    report(
      'ui overview, every page of 10,000 tags (100 pages)',
      await timed(3, async () => {
        for (let next = await overview(null); next !== null; next = await overview(next));
      }),
    );
    report(
      'ui timeline, first page of a 5,000-event tag (100 events)',
      await timed(20, () => timeline(null)),
    );
    report(
      'ui timeline, every page of a 5,000-event tag (50 pages)',
      await timed(3, async () => {
        for (let next = await timeline(null); next !== null; next = await timeline(next));
      }),
    );
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
