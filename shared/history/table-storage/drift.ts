import { createHash } from 'node:crypto';
import { odata, type TableClient, type TransactionAction } from '@azure/data-tables';
import { formatTagRef, type OpenFinding, outboxRows, type TagRef } from '../../core';
import { backOffAfterConflict } from '../conflict-retry';
import { packGroups } from '../drift-batches';
import type { DriftApplyResult, DriftLog, DriftPlan, DriftReportInput, DriftRow } from '../drift-port';
import { effectEntity, type Row } from './entities';
import { classify, statusOf } from './errors';
import { encodeKeyPart, idPart } from './keys';
import { callTable, getRow, queryRows } from './service';

/*
 * Layout. A cluster's drift is one partition, so that recording a report is one entity-group
 * transaction (or, past 100 operations, a few, each under the head's ETag):
 *
 *   PartitionKey        RowKey                                        what
 *   dr|<cluster>        head                                          `version`; its ETag is the compare-and-set token
 *                       open|<key>                                    an open finding
 *                       rep|<reportId>                                a report id received (`receivedAt`)
 *                       row|<receivedAt>|<reportId>|<change>|<key>    a drift row, with its tag (`tagRef`)
 *                       fx|<eventId>|<kind>                           an outbox effect, located by `ev|<eventId>` as the store does
 */
const MAX_OPERATIONS = 100;
const MAX_CONFLICTS = 25;
/** Report ids older than `forgetBefore` deleted with each report, at most this many at a time. */
const FORGET_AT_ONCE = 20;

type Action = { action: TransactionAction; effect?: string; counts?: 'opened' | 'cleared' };
interface OpenEntity extends Row {
  cluster: string;
  key: string;
  finding: string;
  openedAt: string;
  reportId: string;
}
interface RowEntity extends Row {
  cluster: string;
  change: DriftRow['change'];
  key: string;
  finding: string;
  reportId: string;
  receivedAt: string;
}

function clusterPartition(cluster: string): string {
  const key = `dr|${encodeKeyPart(cluster)}`;
  return key.length <= 512 ? key : `dr|~~${createHash('sha256').update(cluster).digest('hex')}`;
}

const toOpen = (e: OpenEntity): OpenFinding => ({
  cluster: e.cluster,
  key: e.key,
  finding: JSON.parse(e.finding),
  openedAt: e.openedAt,
  reportId: e.reportId,
});
const order = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/**
 * Drift findings on Table Storage (see the layout above). `applyReport` reads the report id, the
 * head and the open findings, plans, and commits under the head's ETag; a concurrent report of the
 * cluster makes it re-read and re-plan. Past 100 operations it commits whole groups in order — the
 * alerts first, then each finding with its row — the report id in the last: a crash between leaves
 * a state a retry re-plans from, and the report is not known as received until all of it is written.
 */
export class TableDriftLog implements DriftLog {
  constructor(private readonly client: TableClient) {}

  async openFindings(cluster?: string): Promise<OpenFinding[]> {
    const open = odata`RowKey ge ${'open|'} and RowKey lt ${'open}'}`;
    const where =
      cluster === undefined
        ? `PartitionKey ge 'dr|' and PartitionKey lt 'dr}' and ${open}`
        : `${odata`PartitionKey eq ${clusterPartition(cluster)}`} and ${open}`;
    const rows = await queryRows<OpenEntity>(this.client, 'read open drift findings', where);
    return rows.map(toOpen).sort((a, b) => order(a.cluster, b.cluster) || order(a.key, b.key));
  }

  async applyReport(
    input: DriftReportInput,
    plan: (open: OpenFinding[]) => DriftPlan,
  ): Promise<DriftApplyResult> {
    const pk = clusterPartition(input.cluster);
    const queued = new Set<string>();
    const done = { opened: 0, cleared: 0 };
    for (let attempt = 1; ; attempt++) {
      const [marker, head, open, stale] = await Promise.all([
        getRow<{ receivedAt: string }>(this.client, pk, `rep|${idPart(input.reportId)}`, 'read a report id'),
        getRow<{ version: number }>(this.client, pk, 'head', `read the drift of ${input.cluster}`),
        this.openFindings(input.cluster),
        this.staleReports(pk, input),
      ]);
      if (marker && marker.receivedAt >= input.forgetBefore) return { kind: 'replay' };
      const { diff, effects } = plan(open);
      const groups: Action[][] = [];
      for (const { eventId, effects: list } of effects) {
        const rows = outboxRows(eventId, list, input.receivedAt).filter((r) => !queued.has(r.key));
        if (rows.length > 0) await this.locate(eventId, pk);
        groups.push(
          rows.map((r) => ({ action: ['create', effectEntity(pk, r, input.receivedAt)], effect: r.key })),
        );
      }
      for (const f of diff.cleared) groups.push(this.clearActions(pk, input, f));
      for (const f of diff.opened) groups.push(this.openActions(pk, input, f));
      groups.push(...stale.map((rowKey): Action[] => [{ action: ['delete', { partitionKey: pk, rowKey }] }]));
      const batches = packGroups(groups, MAX_OPERATIONS - 2);
      const lost = await this.commit(pk, input, head, batches, done);
      if (!lost) return { kind: 'applied', ...done };
      for (const key of lost) queued.add(key);
      await backOffAfterConflict(
        attempt,
        MAX_CONFLICTS,
        () => `gave up on drift report ${input.reportId} of ${input.cluster} after ${attempt} conflicts`,
      );
    }
  }

  async driftHistory(ref: TagRef): Promise<DriftRow[]> {
    const rows = await queryRows<RowEntity>(
      this.client,
      `read the drift rows of ${formatTagRef(ref)}`,
      `PartitionKey ge 'dr|' and PartitionKey lt 'dr}' and ${odata`RowKey ge ${'row|'} and RowKey lt ${'row}'} and tagRef eq ${formatTagRef(ref)}`}`,
    );
    return rows
      .sort((a, b) => order(a.receivedAt, b.receivedAt) || order(a.rowKey, b.rowKey))
      .map((r, i) => ({
        seq: i + 1,
        cluster: r.cluster,
        change: r.change,
        key: r.key,
        finding: JSON.parse(r.finding),
        reportId: r.reportId,
        receivedAt: r.receivedAt,
      }));
  }

  /** Commits the batches in order under the head; null when all did, else the effects queued already. */
  private async commit(
    pk: string,
    input: DriftReportInput,
    head: ({ version: number } & Row) | null,
    batches: Action[][],
    done: { opened: number; cleared: number },
  ): Promise<string[] | null> {
    let current = head;
    for (const [i, batch] of batches.entries()) {
      const version = (current?.version ?? 0) + 1;
      const headEntity = { partitionKey: pk, rowKey: 'head', version };
      const actions: Action[] = [
        {
          action: current
            ? ['update', headEntity, 'Replace', { etag: current.etag }]
            : ['create', headEntity],
        },
        ...batch,
      ];
      if (i === batches.length - 1) actions.push(this.markerAction(pk, input));
      try {
        const answer = await this.client.submitTransaction(actions.map((a) => a.action));
        const etag = answer.getResponseForEntity('head')?.etag ?? (await this.headAt(pk, version));
        if (!etag) return [];
        current = { ...headEntity, etag } as { version: number } & Row;
      } catch (error) {
        const status = statusOf(error);
        if (status !== 409 && status !== 412) throw classify(error, `record drift report ${input.reportId}`);
        const index = /^(\d+):/.exec(error instanceof Error ? error.message : '')?.[1];
        const failed = index === undefined ? undefined : actions[Number(index)];
        return failed?.effect ? [failed.effect] : [];
      }
      for (const a of batch) if (a.counts) done[a.counts]++;
    }
    return null;
  }

  /** The head's ETag if its version is still the one we wrote (no other writer moved it on), else null. */
  private async headAt(pk: string, version: number): Promise<string | null> {
    const row = await getRow<{ version: number }>(this.client, pk, 'head', 'read the drift head');
    return row?.version === version ? row.etag : null;
  }

  private markerAction(pk: string, input: DriftReportInput): Action {
    const marker = {
      partitionKey: pk,
      rowKey: `rep|${idPart(input.reportId)}`,
      receivedAt: input.receivedAt,
    };
    // The head's ETag already serializes this write with every other of the cluster: upsert is safe.
    return { action: ['upsert', marker, 'Replace'] };
  }

  private rowAction(
    pk: string,
    input: DriftReportInput,
    change: DriftRow['change'],
    f: OpenFinding | DriftPlan['diff']['opened'][number],
  ): Action {
    const rowKey = `row|${input.receivedAt}|${idPart(input.reportId)}|${change}|${idPart(f.key)}`;
    const entity = {
      partitionKey: pk,
      rowKey,
      tagRef: formatTagRef(f.finding),
      cluster: input.cluster,
      change,
      key: f.key,
      finding: JSON.stringify(f.finding),
      reportId: input.reportId,
      receivedAt: input.receivedAt,
    };
    return { action: ['upsert', entity, 'Replace'] };
  }

  private clearActions(pk: string, input: DriftReportInput, f: OpenFinding): Action[] {
    const key = { partitionKey: pk, rowKey: `open|${idPart(f.key)}` };
    return [{ action: ['delete', key], counts: 'cleared' }, this.rowAction(pk, input, 'cleared', f)];
  }

  private openActions(pk: string, input: DriftReportInput, f: DriftPlan['diff']['opened'][number]): Action[] {
    const entity = {
      partitionKey: pk,
      rowKey: `open|${idPart(f.key)}`,
      cluster: input.cluster,
      key: f.key,
      finding: JSON.stringify(f.finding),
      openedAt: input.receivedAt,
      reportId: input.reportId,
    };
    return [{ action: ['create', entity], counts: 'opened' }, this.rowAction(pk, input, 'opened', f)];
  }

  /** Report ids received before `forgetBefore` (but not this report's): deleted with this report. */
  private async staleReports(pk: string, input: DriftReportInput): Promise<string[]> {
    const rows = await queryRows<{ receivedAt: string }>(
      this.client,
      'find forgotten report ids',
      odata`PartitionKey eq ${pk} and RowKey ge ${'rep|'} and RowKey lt ${'rep}'} and receivedAt lt ${input.forgetBefore}`,
    );
    const own = `rep|${idPart(input.reportId)}`;
    return rows
      .map((r) => r.rowKey)
      .filter((k) => k !== own)
      .slice(0, FORGET_AT_ONCE);
  }

  /** Records (idempotently) that `eventId` has effects in partition `pk`, as the history store does. */
  private async locate(eventId: string, pk: string): Promise<void> {
    await callTable(`index the effects of ${eventId}`, () =>
      this.client.upsertEntity({ partitionKey: `ev|${idPart(eventId)}`, rowKey: pk, eventId }, 'Replace'),
    );
  }
}
