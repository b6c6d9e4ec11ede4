import type { Command } from 'commander';
import { formatTagRef, parseTagRef, printable } from '../../shared/core';
import type { HistoryEntry } from '../../shared/history';
import { CliError, out } from './cli-io';
import { openHistory } from './composition';
import { DEFAULT_DB_PATH } from './dependencies';
import { effectsOfTag, effectsTable } from './tag-effects';
import { alignedTable } from './text-table';

export function registerHistoryCommand(program: Command): void {
  program
    .command('history')
    .description('print the digest history of a tag')
    .argument('<tagRef>', '<registryHost>/<repository>:<tag>')
    .option('--db <file>', 'SQLite history file', DEFAULT_DB_PATH)
    .option('--json', 'print JSON instead of a table')
    .action(history);
}

async function history(text: string, options: { db: string; json?: boolean }): Promise<void> {
  const ref = parseTagRef(text);
  if ('problem' in ref) throw new CliError(ref.problem);
  const store = openHistory(options.db, { mustExist: true });
  const [state, rows] = [await store.tagState(ref), await store.history(ref)];
  const effects = await effectsOfTag(store, ref, rows);
  await store.close();
  if (rows.length === 0) throw new CliError(`no history for ${formatTagRef(ref)} in ${options.db}`);
  if (options.json) {
    out(
      JSON.stringify(
        { tagRef: formatTagRef(ref), current: state?.digest ?? null, history: rows, effects },
        null,
        2,
      ),
    );
    return;
  }
  out(
    printable(
      `${formatTagRef(ref)}  serves ${state?.digest ?? '(deleted)'}${state?.pendingRestore ? `  (restoring ${state.pendingRestore.digest})` : ''}`,
    ),
  );
  out(table(rows));
  if (effects.length > 0)
    out(`Effects (failed ones are retried with tagwarden retry --key <KEY>):\n${effectsTable(effects)}`);
}

function table(rows: HistoryEntry[]): string {
  const header = ['EVENT TIME', 'TRANSITION', 'ACTION', 'DIGEST', 'PREVIOUS', 'ACTOR', 'EVENT ID'];
  const body = rows.map((r) => [
    r.eventTime,
    r.transition,
    r.action,
    r.digest ?? '-',
    r.previousDigest ?? '-',
    r.actor ?? '-',
    r.eventId,
  ]);
  return alignedTable(header, body);
}
