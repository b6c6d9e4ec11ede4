import type { Command } from 'commander';
import { formatTagRef, printable } from '../../shared/core';
import { out } from './cli-io';
import { openStore } from './composition';
import { DEFAULT_DB_PATH } from './dependencies';

export function registerFailedCommand(program: Command): void {
  program
    .command('failed')
    .description('list effects that failed for good and events that were rejected')
    .option('--db <file|url>', 'SQLite history file, or a postgres:// URL', DEFAULT_DB_PATH)
    .option('--limit <n>', 'how many of each', (v) => Number.parseInt(v, 10), 50)
    .action(failed);
}

async function failed(options: { db: string; limit: number }): Promise<void> {
  const store = await openStore(options.db, { mustExist: true });
  const effects = await store.failedEffects(options.limit);
  const failures = await store.failures(options.limit);
  await store.close();
  out(`Failed effects (${effects.length}):`);
  // Keys, errors and reasons come from events: shown printable, so they cannot drive the terminal.
  for (const e of effects)
    out(
      `  ${printable(`${e.key}  ${formatTagRef(e.effect.incident.ref)}  after ${e.attempts} attempt(s): ${e.lastError ?? ''}`)}`,
    );
  out(`Rejected events (${failures.length}):`);
  for (const f of failures) out(`  ${printable(`#${f.id}  ${f.receivedAt}  ${f.source}: ${f.reason}`)}`);
}
