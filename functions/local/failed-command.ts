import type { Command } from 'commander';
import { formatTagRef, printable } from '../../shared/core';
import { out } from './cli-io';
import { openStore } from './composition';
import { type DbOptions, historyLocation, withDbOptions } from './db-option';

export function registerFailedCommand(program: Command): void {
  withDbOptions(
    program.command('failed').description('list effects that failed for good and events that were rejected'),
  )
    .option('--limit <n>', 'how many of each', (v) => Number.parseInt(v, 10), 50)
    .action(failed);
}

async function failed(options: DbOptions & { limit: number }): Promise<void> {
  const store = await openStore(historyLocation(options), { mustExist: true });
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
