import { odata, type TableClient, type TransactionAction } from '@azure/data-tables';
import {
  type ApplyResult,
  type Digest,
  type Effect,
  formatTagRef,
  type HistoryEntry,
  type OutboxEffect,
  outboxRows,
  type PendingRestore,
  PermanentError,
  type Policy,
  type RegistryEvent,
  recordStep,
  ruleFor,
  type TagRef,
  type TagState,
} from '../../core';
import { applyInOrder } from '../apply-all';
import { backOffAfterConflict } from '../conflict-retry';
import { newlyNamedDigests } from '../digest-index';
import type { EffectUpdate, FailedRecord, HistoryStore } from '../port';
import { indexDigests, tagsNaming } from './digest-index';
import { TableDriftLog } from './drift';
import {
  applyUpdate,
  type EffectEntity,
  effectEntity,
  type HistoryEntity,
  historyEntity,
  type Row,
  type StateRow,
  stateEntity,
  toHistoryEntry,
  toOutboxEffect,
  toTagState,
} from './entities';
import { classify, statusOf } from './errors';
import { TableFailureLog } from './failure-log';
import { idPart, STATE, tagPartition } from './keys';
import { callTable, getRow, queryRows } from './service';

/** Table names are alphanumeric (3–63 characters, starting with a letter). */
export const DEFAULT_HISTORY_TABLE = 'tagwardenhistory';

/**
 * A conditional write that lost to another writer (412 on If-Match, 409 on create): retried after a
 * re-read, except a claim, which leaves the effect to the worker that won it.
 */
export interface WriteConflict {
  operation:
    | 'apply'
    | 'markPendingRestore'
    | 'clearPendingRestore'
    | 'updateEffect'
    | 'claimDueEffects'
    | 'approveDigest';
  partitionKey: string;
  status: number;
  attempt: number;
}

export interface TableStorageHistoryStoreOptions {
  /** Gives failed records their id (and their order among records received at the same time). */
  clock?: () => Date;
  /** Tries of one conditional write before giving up with a TransientError (default 25). */
  maxAttempts?: number;
  /** Called on every lost conditional write before it is retried: tests count the races they caused. */
  onConflict?: (conflict: WriteConflict) => void;
}

/**
 * Table Storage history (Azure Functions runtime). `apply` reads the tag's state row (with its ETag)
 * and the event's seen row, decides with core's `recordStep`, and commits one entity-group
 * transaction: create seen row, replace the state row If-Match its ETag (or create it), create the
 * history row and the effect rows. A concurrent writer makes that fail with 412/409; we re-read and
 * re-decide, with jittered backoff, so correctness lives in the ETag, never in a read-then-write.
 */
export class TableStorageHistoryStore implements HistoryStore {
  private readonly maxAttempts: number;
  private readonly onConflict: (conflict: WriteConflict) => void;
  private readonly failureLog: TableFailureLog;
  /** Drift findings (issue 15), one partition per cluster; their alerts go to this outbox. */
  readonly drift: TableDriftLog;

  constructor(
    private readonly client: TableClient,
    options: TableStorageHistoryStoreOptions = {},
  ) {
    this.maxAttempts = options.maxAttempts ?? 25;
    this.onConflict = options.onConflict ?? (() => {});
    this.failureLog = new TableFailureLog(client, options.clock ?? (() => new Date()), this.maxAttempts);
    this.drift = new TableDriftLog(client);
  }

  /** Creates the table if it is missing; the SDK treats "already exists" as success. */
  async ensureTable(): Promise<void> {
    await callTable(`create table ${this.client.tableName}`, () => this.client.createTable());
  }

  async apply(event: RegistryEvent, policy: Policy, receivedAt: string): Promise<ApplyResult> {
    const rule = ruleFor(policy, event);
    const pk = tagPartition(event);
    const seenKey = `seen|${idPart(event.id)}`;
    /** Effects whose key is in the outbox already (enqueued before): kept as they are, like SQLite's INSERT OR IGNORE. */
    const queued = new Set<string>();
    for (let attempt = 1; ; attempt++) {
      const rows = await queryRows<Row>(
        this.client,
        `read ${formatTagRef(event)}`,
        odata`PartitionKey eq ${pk} and (RowKey eq ${STATE} or RowKey eq ${seenKey})`,
      );
      const stateRow = rows.find((r) => r.rowKey === STATE) as StateRow | undefined;
      const prev = stateRow ? toTagState(stateRow) : null;
      const seen = rows.some((r) => r.rowKey === seenKey);
      const step = recordStep({ prev, seen, event, rule, receivedAt });
      if (step.kind === 'duplicate') return step.result;

      const { effects } = step.result;
      const seq = (stateRow?.rows ?? 0) + 1;
      // A stale event leaves the state as it was, but still takes a history seq (and the ETag).
      const nextState = step.next ?? prev;
      if (!nextState) throw new Error(`no state to keep for ${formatTagRef(event)}`); // stale needs a prev
      const state = stateEntity(pk, event, nextState, seq);
      const actions: TransactionAction[] = [
        ['create', { partitionKey: pk, rowKey: seenKey, eventId: event.id, receivedAt }],
        stateRow ? ['update', state, 'Replace', { etag: stateRow.etag }] : ['create', state],
        ['create', historyEntity(pk, { seq, ...step.history })],
      ];
      const created = effects.filter((effect) => !queued.has(effect.key));
      for (const effect of created) actions.push(['create', effectEntity(pk, effect, receivedAt)]);
      if (effects.length > 0) await this.locate(event.id, pk);
      await indexDigests(this.client, event, newlyNamedDigests(prev, step.next));

      const failed = await this.transact(`record ${event.id} on ${formatTagRef(event)}`, actions);
      if (!failed) return step.result;
      if (failed.index === 0) continue; // recorded meanwhile: the re-read answers duplicate
      const existing = failed.index === undefined ? undefined : created[failed.index - 3];
      if (existing) {
        queued.add(existing.key);
        continue;
      }
      await this.conflicted({ operation: 'apply', partitionKey: pk, status: failed.status, attempt });
    }
  }

  /** One event after another, each its own transaction: a batch may span tags, and so partitions. */
  applyAll(events: RegistryEvent[], policy: Policy, receivedAt: string): Promise<ApplyResult[]> {
    return applyInOrder((e, p, r) => this.apply(e, p, r), events, policy, receivedAt);
  }

  async enqueueEffects(eventId: string, effects: Effect[], now: string): Promise<void> {
    for (const row of outboxRows(eventId, effects, now)) {
      const pk = tagPartition(row.effect.incident.ref);
      await this.locate(eventId, pk);
      try {
        await this.client.createEntity(effectEntity(pk, row, now));
      } catch (error) {
        if (statusOf(error) !== 409) throw classify(error, `enqueue effect ${row.key}`); // 409: queued already
      }
    }
  }

  async tagState(ref: TagRef): Promise<TagState | null> {
    const row = await getRow<StateRow>(this.client, tagPartition(ref), STATE, `read ${formatTagRef(ref)}`);
    return row ? toTagState(row) : null;
  }

  async history(ref: TagRef): Promise<HistoryEntry[]> {
    const pk = tagPartition(ref);
    const rows = await queryRows<HistoryEntity>(
      this.client,
      `read the history of ${formatTagRef(ref)}`,
      odata`PartitionKey eq ${pk} and RowKey ge ${'h|'} and RowKey lt ${'h}'}`,
    );
    return rows.map(toHistoryEntry); // a partition comes back in RowKey order: seq order
  }

  async markPendingRestore(ref: TagRef, restore: PendingRestore): Promise<boolean> {
    return this.replaceState('markPendingRestore', ref, (state) =>
      state.digest === restore.from ? { ...state, pendingRestore: restore } : null,
    );
  }

  /** One query of the digest's index partition, then each named tag's state (`digest-index.ts`). */
  tagsServing(registryHost: string, repository: string, digest: Digest): Promise<TagRef[]> {
    return tagsNaming(this.client, registryHost, repository, digest, (ref) => this.tagState(ref));
  }

  async clearPendingRestore(ref: TagRef, digest: Digest): Promise<void> {
    await this.replaceState('clearPendingRestore', ref, (state) =>
      state.pendingRestore?.digest === digest ? { ...state, pendingRestore: null } : null,
    );
  }

  async approveDigest(ref: TagRef, digest: Digest): Promise<boolean> {
    return this.replaceState('approveDigest', ref, (state) =>
      state.digest === digest ? { ...state, approvedDigest: digest } : null,
    );
  }

  /**
   * The due effects are found by one filtered query across all partitions (a table scan on the
   * service side), which is fine at the scale of a tag guard: thousands of rows, not millions. Each
   * is then claimed by a Replace If-Match its ETag, so two workers never claim the same effect.
   */
  async claimDueEffects(now: string, leaseUntil: string, limit: number): Promise<OutboxEffect[]> {
    const due = (
      await queryRows<EffectEntity>(
        this.client,
        'find due effects',
        odata`RowKey ge ${'fx|'} and RowKey lt ${'fx}'} and status eq ${'pending'} and nextAttemptAt le ${now}`,
      )
    ).sort(
      (a, b) =>
        a.nextAttemptAt.localeCompare(b.nextAttemptAt) ||
        a.eventId.localeCompare(b.eventId) ||
        a.position - b.position,
    );
    const claimed: OutboxEffect[] = [];
    for (const row of due) {
      if (claimed.length >= limit) break;
      if (await this.lease(row, leaseUntil)) claimed.push(toOutboxEffect(row));
    }
    return claimed;
  }

  async renewLease(key: string, heldUntil: string, leaseUntil: string): Promise<boolean> {
    const row = await this.effectRow(key);
    if (row?.status !== 'pending' || row.nextAttemptAt !== heldUntil) return false;
    return this.lease(row, leaseUntil);
  }

  /** Leases an effect row until `leaseUntil` if it is unchanged since read (its ETag decides). */
  private async lease(row: EffectEntity, leaseUntil: string): Promise<boolean> {
    const effect = toOutboxEffect(row);
    const leased = effectEntity(row.partitionKey, { ...effect, nextAttemptAt: leaseUntil }, row.updatedAt);
    try {
      await this.client.updateEntity(leased, 'Replace', { etag: row.etag });
      return true;
    } catch (error) {
      const status = statusOf(error);
      if (status !== 412 && status !== 404) throw classify(error, `claim effect ${effect.key}`);
      this.onConflict({ operation: 'claimDueEffects', partitionKey: row.partitionKey, status, attempt: 1 });
      return false;
    }
  }

  async effectsOf(eventId: string): Promise<OutboxEffect[]> {
    const prefix = `fx|${idPart(eventId)}|`;
    const effects: OutboxEffect[] = [];
    for (const pk of await this.partitionsOf(eventId)) {
      const rows = await queryRows<EffectEntity>(
        this.client,
        `read the effects of ${eventId}`,
        odata`PartitionKey eq ${pk} and RowKey ge ${prefix} and RowKey lt ${`fx|${idPart(eventId)}}`}`,
      );
      effects.push(...rows.filter((r) => r.eventId === eventId).map(toOutboxEffect));
    }
    return effects.sort((a, b) => a.position - b.position);
  }

  async updateEffect(key: string, update: EffectUpdate, now: string): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      const row = await this.effectRow(key);
      if (!row) throw new PermanentError(`no effect ${key} in the outbox`);
      const next = applyUpdate(toOutboxEffect(row), update);
      try {
        await this.client.updateEntity(effectEntity(row.partitionKey, next, now), 'Replace', {
          etag: row.etag,
        });
        return;
      } catch (error) {
        const status = statusOf(error);
        if (status !== 412) throw classify(error, `update effect ${key}`);
        await this.conflicted({ operation: 'updateEffect', partitionKey: row.partitionKey, status, attempt });
      }
    }
  }

  /** Effects that failed for good, newest first: a filtered query across partitions, like claims. */
  async failedEffects(limit: number): Promise<OutboxEffect[]> {
    const rows = await queryRows<EffectEntity>(
      this.client,
      'find failed effects',
      odata`RowKey ge ${'fx|'} and RowKey lt ${'fx}'} and status eq ${'failed'}`,
    );
    return rows
      .sort((a, b) => b.updatedAt.localeCompare(a.updatedAt) || b.rowKey.localeCompare(a.rowKey))
      .slice(0, limit)
      .map(toOutboxEffect);
  }

  recordFailure(record: Omit<FailedRecord, 'id'>): Promise<void> {
    return this.failureLog.recordFailure(record);
  }

  failures(limit: number): Promise<FailedRecord[]> {
    return this.failureLog.failures(limit);
  }

  /** The client belongs to the caller (one per Function App instance), so nothing is closed here. */
  async close(): Promise<void> {}

  /** Replaces the tag's state If-Match its ETag, retrying on 412; false when absent or `change` declines. */
  private async replaceState(
    operation: 'markPendingRestore' | 'clearPendingRestore' | 'approveDigest',
    ref: TagRef,
    change: (state: TagState) => TagState | null,
  ): Promise<boolean> {
    const pk = tagPartition(ref);
    for (let attempt = 1; ; attempt++) {
      const row = await getRow<StateRow>(this.client, pk, STATE, `read ${formatTagRef(ref)}`);
      if (!row) return false;
      const state = toTagState(row);
      const next = change(state);
      if (!next) return false;
      const entity = stateEntity(pk, ref, { ...next, version: state.version + 1 }, row.rows);
      try {
        await this.client.updateEntity(entity, 'Replace', { etag: row.etag });
        return true;
      } catch (error) {
        const status = statusOf(error);
        if (status !== 412 && status !== 404) throw classify(error, `${operation} on ${formatTagRef(ref)}`);
        await this.conflicted({ operation, partitionKey: pk, status, attempt });
      }
    }
  }

  /** Records (idempotently) that `eventId` has effects in partition `pk`; see the layout above. */
  private async locate(eventId: string, pk: string): Promise<void> {
    await callTable(`index the effects of ${eventId}`, () =>
      this.client.upsertEntity({ partitionKey: `ev|${idPart(eventId)}`, rowKey: pk, eventId }, 'Replace'),
    );
  }

  /** The row of the effect keyed `eventId#kind`, in whichever partition holds it. */
  private async effectRow(key: string): Promise<EffectEntity | null> {
    const hash = key.lastIndexOf('#');
    const [eventId, kind] = [key.slice(0, hash), key.slice(hash + 1)];
    for (const pk of await this.partitionsOf(eventId)) {
      const row = await getRow<EffectEntity>(
        this.client,
        pk,
        `fx|${idPart(eventId)}|${kind}`,
        `read effect ${key}`,
      );
      if (row) return row;
    }
    return null;
  }

  private async partitionsOf(eventId: string): Promise<string[]> {
    const rows = await queryRows<Row>(
      this.client,
      `find the effects of ${eventId}`,
      odata`PartitionKey eq ${`ev|${idPart(eventId)}`}`,
    );
    return rows.map((r) => r.rowKey);
  }

  /** Submits a transaction; a lost race answers with the failing operation, anything else throws. */
  private async transact(
    what: string,
    actions: TransactionAction[],
  ): Promise<{ status: number; index: number | undefined } | null> {
    try {
      await this.client.submitTransaction(actions);
      return null;
    } catch (error) {
      const status = statusOf(error);
      if (status !== 409 && status !== 412) throw classify(error, what);
      // The service prefixes the message with the index of the operation that failed ("1:The update…").
      const index = /^(\d+):/.exec(error instanceof Error ? error.message : '')?.[1];
      return { status, index: index === undefined ? undefined : Number(index) };
    }
  }

  private async conflicted(conflict: WriteConflict): Promise<void> {
    this.onConflict(conflict);
    await backOffAfterConflict(
      conflict.attempt,
      this.maxAttempts,
      () =>
        `gave up on ${conflict.operation} in ${conflict.partitionKey} after ${conflict.attempt} conflicting writes`,
    );
  }
}
