import type { Command } from 'commander';
import type { OpenFinding } from '../../shared/core';
import { type DriftRow, driftLogOf } from '../../shared/history';
import { out } from './cli-io';
import { openStore } from './composition';
import { type DbOptions, historyLocation, withDbOptions } from './db-option';
import { driftListing } from './drift-route';
import { alignedTable, shortDigests, TERMINAL_WIDTH } from './text-table';

export function registerDriftCommand(program: Command): void {
  withDbOptions(
    program
      .command('drift')
      .description('list the open drift findings (what pods run against what their tag serves) per cluster')
      .option('--cluster <name>', 'only this cluster'),
  )
    .option('--json', 'print JSON (the same as GET /api/drift)')
    .action(drift);
}

async function drift(options: DbOptions & { cluster?: string; json?: boolean }): Promise<void> {
  const store = await openStore(historyLocation(options), { mustExist: true });
  // Both stores `--db` opens keep a drift log; a store without one has no findings to list.
  const open = (await driftLogOf(store)?.openFindings(options.cluster)) ?? [];
  await store.close();
  if (options.json) out(JSON.stringify(driftListing(open), null, 2));
  else if (open.length === 0)
    out(`no open drift findings${options.cluster ? ` for cluster ${options.cluster}` : ''}`);
  else out(findingsTable(open));
}

function findingsTable(open: OpenFinding[]): string {
  const header = ['CLUSTER', 'KIND', 'WORKLOAD', 'CONTAINER', 'IMAGE', 'RUNNING', 'SINCE'];
  const rows = open.map((f) => [f.cluster, ...findingCells(f.finding), f.openedAt]);
  return alignedTable(header, rows, { maxWidth: TERMINAL_WIDTH, shrink: [5] });
}

/** Kind, workload, container, image and what runs: the cells `drift` and `history` show of a finding. */
function findingCells(finding: OpenFinding['finding']): string[] {
  const { workload } = finding;
  return [
    finding.kind,
    `${workload.kind} ${workload.namespace}/${workload.name}`,
    finding.container,
    `${finding.repository}:${finding.tag}`,
    shortDigests(finding.running.map((r) => `${r.digest}×${r.pods}`).join(' ') || '-'),
  ];
}

/** The drift rows of `tagwarden history`: each finding opened or cleared on the tag, by cluster. */
export function driftRowsTable(rows: DriftRow[]): string {
  const header = ['RECEIVED', 'DRIFT', 'CLUSTER', 'KIND', 'WORKLOAD', 'CONTAINER', 'RUNNING'];
  const body = rows.map((r) => {
    const [kind, workload, container, , running] = findingCells(r.finding);
    return [r.receivedAt, r.change, r.cluster, kind!, workload!, container!, running!];
  });
  return alignedTable(header, body, { maxWidth: TERMINAL_WIDTH, shrink: [4, 6] });
}

/** The secret of each `clusters[]` entry an agent reports as: shared with the cloud runtimes. */
export { clusterSecrets } from '../../shared/guard/drift';
