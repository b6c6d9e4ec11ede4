import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  DynamoDBDocumentClient,
  GetCommand,
  TransactWriteCommand,
  type TransactWriteCommandInput,
} from '@aws-sdk/lib-dynamodb';
import { type OpenFinding, outboxRows, type TagRef } from '../../core';
import { backOffAfterConflict } from '../conflict-retry';
import { packGroups } from '../drift-batches';
import type { DriftApplyResult, DriftLog, DriftPlan, DriftReportInput, DriftRow } from '../drift-port';
import { outboxItem, tagKey } from './items';
import { queryAll } from './query';

/*
 * Layout. A cluster's drift lives in its partition `DRIFT#<cluster>`: `HEAD` (a version, the
 * compare-and-set token every write of the cluster's drift moves on), `OPEN#<key>` (an open finding,
 * also indexed on gsi1 under `DRIFT#open` for the all-clusters listing) and `REPORT#<id>` (a report
 * id received, with `expiresAt` for the table's TTL). Drift rows sit in their tag's partition,
 * `DRIFT#<receivedAt>#<reportId>#<change>#<key>`, beside its history rows; alerts are outbox items.
 */
type TransactItem = NonNullable<TransactWriteCommandInput['TransactItems']>[number];
interface Write {
  item: TransactItem;
  /** The outbox key an outbox put writes (its condition fails when it is queued already). */
  effect?: string;
  counts?: 'opened' | 'cleared';
}

/** A DynamoDB transaction takes at most 100 items; each carries the head, the last the report id too. */
const MAX_TRANSACTION_ITEMS = 100;
const MAX_CONFLICT_RETRIES = 25;
const OPEN_INDEX = 'DRIFT#open';
const clusterKey = (cluster: string) => `DRIFT#${cluster}`;

interface OpenItem extends OpenFinding {
  pk: string;
  sk: string;
}

const toOpen = ({ cluster, key, finding, openedAt, reportId }: OpenItem): OpenFinding => ({
  cluster,
  key,
  finding,
  openedAt,
  reportId,
});
const byClusterAndKey = (a: OpenFinding, b: OpenFinding) =>
  a.cluster < b.cluster ? -1 : a.cluster > b.cluster ? 1 : a.key < b.key ? -1 : a.key > b.key ? 1 : 0;

/**
 * Drift findings on DynamoDB. `applyReport` reads the report id, the cluster's head and open
 * findings, plans, and writes under a condition on the head's version, so a concurrent report of the
 * same cluster makes it re-read and re-plan. A report that fits commits in one transaction. One
 * that does not (a report may open 2000 findings) is split into transactions of whole groups — the
 * alerts first, then each finding with its row — each moving the head on, the report id last: a
 * crash between two leaves a state a retry re-plans from (what committed is open, so not alerted
 * again; outbox puts are conditional on absence), and the report is not known as received until
 * everything of it is written.
 */
export class DynamoDbDriftLog implements DriftLog {
  private readonly doc: DynamoDBDocumentClient;

  /**
   * Apart from the history store, so that the functions that never receive reports (the consumer,
   * the sweep) do not carry it; it shares the store's table and outbox items.
   */
  constructor(
    client: DynamoDBClient,
    private readonly table: string,
  ) {
    this.doc = DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
  }

  async openFindings(cluster?: string): Promise<OpenFinding[]> {
    const items =
      cluster === undefined
        ? await queryAll<OpenItem>(this.doc, this.table, {
            IndexName: 'gsi1',
            KeyConditionExpression: 'gsi1pk = :open',
            ExpressionAttributeValues: { ':open': OPEN_INDEX },
          })
        : await this.openOf(cluster);
    return items.map(toOpen).sort(byClusterAndKey);
  }

  async applyReport(
    input: DriftReportInput,
    plan: (open: OpenFinding[]) => DriftPlan,
  ): Promise<DriftApplyResult> {
    const queued = new Set<string>();
    const done = { opened: 0, cleared: 0 };
    for (let attempt = 1; ; attempt++) {
      const [marker, head, open] = await Promise.all([
        this.get<{ receivedAt: string }>(clusterKey(input.cluster), `REPORT#${input.reportId}`),
        this.get<{ version: number }>(clusterKey(input.cluster), 'HEAD'),
        this.openOf(input.cluster),
      ]);
      if (marker && marker.receivedAt >= input.forgetBefore) return { kind: 'replay' };
      const { diff, effects } = plan(open.map(toOpen));
      const groups = [
        ...effects.map(({ eventId, effects: list }) =>
          outboxRows(eventId, list, input.receivedAt)
            .filter((row) => !queued.has(row.key))
            .map((row) => this.outboxPut(row, input.receivedAt)),
        ),
        ...diff.cleared.map((f) => this.clearWrites(input, f)),
        ...diff.opened.map((f) => this.openWrites(input, f)),
      ];
      const batches = packGroups(groups, MAX_TRANSACTION_ITEMS - 2);
      const lost = await this.commit(input, head?.version ?? 0, batches, done);
      if (!lost) return { kind: 'applied', ...done };
      for (const key of lost) queued.add(key);
      await backOffAfterConflict(
        attempt,
        MAX_CONFLICT_RETRIES,
        () => `gave up on drift report ${input.reportId} of ${input.cluster} after ${attempt} conflicts`,
      );
    }
  }

  async driftHistory(ref: TagRef): Promise<DriftRow[]> {
    const items = await queryAll<DriftRow & { sk: string }>(this.doc, this.table, {
      KeyConditionExpression: 'pk = :pk AND begins_with(sk, :drift)',
      ExpressionAttributeValues: { ':pk': tagKey(ref), ':drift': 'DRIFT#' },
      ConsistentRead: true,
    });
    return items.map(({ cluster, change, key, finding, reportId, receivedAt }, i) => ({
      seq: i + 1,
      cluster,
      change,
      key,
      finding,
      reportId,
      receivedAt,
    }));
  }

  /**
   * Writes the batches in order, each under the head's version; null when all committed, or the
   * outbox keys found queued already when one was refused (the caller re-reads and re-plans).
   */
  private async commit(
    input: DriftReportInput,
    version: number,
    batches: Write[][],
    done: { opened: number; cleared: number },
  ): Promise<string[] | null> {
    for (const [i, batch] of batches.entries()) {
      const writes = [this.headWrite(input.cluster, version + i), ...batch];
      if (i === batches.length - 1) writes.push(this.markerWrite(input));
      try {
        await this.doc.send(new TransactWriteCommand({ TransactItems: writes.map((w) => w.item) }));
      } catch (error) {
        if ((error as { name?: string }).name !== 'TransactionCanceledException') throw error;
        const reasons = (error as { CancellationReasons?: { Code?: string }[] }).CancellationReasons ?? [];
        return writes
          .filter((w, j) => w.effect && reasons[j]?.Code === 'ConditionalCheckFailed')
          .map((w) => w.effect as string);
      }
      for (const w of batch) if (w.counts) done[w.counts]++;
    }
    return null;
  }

  private headWrite(cluster: string, version: number): Write {
    return {
      item: {
        Put: {
          TableName: this.table,
          Item: { pk: clusterKey(cluster), sk: 'HEAD', version: version + 1 },
          ConditionExpression: version === 0 ? 'attribute_not_exists(pk)' : 'version = :seen',
          ...(version === 0 ? {} : { ExpressionAttributeValues: { ':seen': version } }),
        },
      },
    };
  }

  /** The report id, kept as long as a replay could still pass the time window (TTL `expiresAt`). */
  private markerWrite(input: DriftReportInput): Write {
    const received = Date.parse(input.receivedAt);
    const keepMs = Math.max(0, received - Date.parse(input.forgetBefore));
    return {
      item: {
        Put: {
          TableName: this.table,
          Item: {
            pk: clusterKey(input.cluster),
            sk: `REPORT#${input.reportId}`,
            receivedAt: input.receivedAt,
            expiresAt: Math.ceil((received + keepMs) / 1000),
          },
          ConditionExpression: 'attribute_not_exists(pk) OR receivedAt < :forget',
          ExpressionAttributeValues: { ':forget': input.forgetBefore },
        },
      },
    };
  }

  private outboxPut(row: Parameters<typeof outboxItem>[0], now: string): Write {
    const item = { TableName: this.table, Item: outboxItem(row, now) };
    return { item: { Put: { ...item, ConditionExpression: 'attribute_not_exists(pk)' } }, effect: row.key };
  }

  private rowWrite(
    input: DriftReportInput,
    change: DriftRow['change'],
    f: DriftPlan['diff']['opened'][number],
  ) {
    const Item = {
      pk: tagKey(f.finding),
      sk: `DRIFT#${input.receivedAt}#${input.reportId}#${change}#${f.key}`,
      cluster: input.cluster,
      change,
      key: f.key,
      finding: f.finding,
      reportId: input.reportId,
      receivedAt: input.receivedAt,
    };
    return { item: { Put: { TableName: this.table, Item } } };
  }

  private clearWrites(input: DriftReportInput, f: DriftPlan['diff']['cleared'][number]): Write[] {
    const Key = { pk: clusterKey(input.cluster), sk: `OPEN#${f.key}` };
    return [
      { item: { Delete: { TableName: this.table, Key } }, counts: 'cleared' },
      this.rowWrite(input, 'cleared', f),
    ];
  }

  private openWrites(input: DriftReportInput, f: DriftPlan['diff']['opened'][number]): Write[] {
    const Item = {
      pk: clusterKey(input.cluster),
      sk: `OPEN#${f.key}`,
      cluster: input.cluster,
      key: f.key,
      finding: f.finding,
      openedAt: input.receivedAt,
      reportId: input.reportId,
      gsi1pk: OPEN_INDEX,
      gsi1sk: `${input.cluster}#${f.key}`,
    };
    return [
      { item: { Put: { TableName: this.table, Item } }, counts: 'opened' },
      this.rowWrite(input, 'opened', f),
    ];
  }

  private openOf(cluster: string): Promise<OpenItem[]> {
    return queryAll<OpenItem>(this.doc, this.table, {
      KeyConditionExpression: 'pk = :pk AND begins_with(sk, :open)',
      ExpressionAttributeValues: { ':pk': clusterKey(cluster), ':open': 'OPEN#' },
      ConsistentRead: true,
    });
  }

  private async get<T>(pk: string, sk: string): Promise<T | null> {
    const answer = await this.doc.send(
      new GetCommand({ TableName: this.table, Key: { pk, sk }, ConsistentRead: true }),
    );
    return (answer.Item as T | undefined) ?? null;
  }
}
