import type { Command } from 'commander';
import { formatTagRef, parseTagRef, printable } from '../../shared/core';
import { driftLogOf, type HistoryEntry } from '../../shared/history';
import { CliError, out } from './cli-io';
import { dbLabel, openStore } from './composition';
import { type DbOptions, historyLocation, withDbOptions } from './db-option';
import { driftRowsTable } from './drift-command';
import { effectsOfTag, effectsTable } from './tag-effects';
import { alignedTable, shortDigests, TERMINAL_WIDTH } from './text-table';

export function registerHistoryCommand(program: Command): void {
  withDbOptions(
    program
      .command('history')
      .description('print the digest history of a tag')
      .argument('<tagRef>', '<registryHost>/<repository>:<tag>'),
  )
    .option('--json', 'print JSON instead of a table')
    .option('--wide', 'full digests and event ids (the table may pass 120 columns)')
    .action(history);
}

async function history(text: string, options: DbOptions & { json?: boolean; wide?: boolean }): Promise<void> {
  const ref = parseTagRef(text);
  if ('problem' in ref) throw new CliError(ref.problem);
  const db = historyLocation(options);
  const store = await openStore(db, { mustExist: true });
  const [state, rows] = [await store.tagState(ref), await store.history(ref)];
  const effects = await effectsOfTag(store, ref, rows);
  const drift = (await driftLogOf(store)?.driftHistory(ref)) ?? [];
  await store.close();
  if (rows.length === 0 && drift.length === 0)
    throw new CliError(`no history for ${formatTagRef(ref)} in ${dbLabel(db)}`);
  if (options.json) {
    out(
      JSON.stringify(
        { tagRef: formatTagRef(ref), current: state?.digest ?? null, history: rows, effects, drift },
        null,
        2,
      ),
    );
    return;
  }
  const digest = options.wide ? (d: string) => d : shortDigests;
  const restoring = state?.pendingRestore ? `  (restoring ${digest(state.pendingRestore.digest)})` : '';
  out(
    printable(
      `${formatTagRef(ref)}  serves ${state?.digest ? digest(state.digest) : '(deleted)'}${restoring}`,
    ),
  );
  out(table(rows, options.wide === true));
  if (drift.length > 0) out(`Drift (what the clusters' pods run):\n${driftRowsTable(drift)}`);
  if (effects.length > 0)
    out(
      `Effects (failed ones are retried with tagwarden retry --key <KEY>):\n${effectsTable(effects, options.wide === true)}`,
    );
}

/** Within 120 columns: short digests, and the actor and event id cut (with …) if need be. */
function table(rows: HistoryEntry[], wide: boolean): string {
  const header = ['EVENT TIME', 'TRANSITION', 'ACTION', 'DIGEST', 'PREVIOUS', 'ACTOR', 'EVENT ID'];
  const digest = (d: string | null) => (d === null ? '-' : wide ? d : shortDigests(d));
  const body = rows.map((r) => [
    r.eventTime,
    r.transition,
    r.action,
    digest(r.digest),
    digest(r.previousDigest),
    r.actor ?? '-',
    r.eventId,
  ]);
  return alignedTable(header, body, wide ? undefined : { maxWidth: TERMINAL_WIDTH, shrink: [5, 6] });
}
