import { ConditionalCheckFailedException, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  type QueryCommandInput,
  TransactWriteCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import {
  type ApplyResult,
  type Digest,
  type Effect,
  formatTagRef,
  type HistoryEntry,
  type OutboxEffect,
  outboxRows,
  type PendingRestore,
  type Policy,
  type RegistryEvent,
  recordStep,
  ruleFor,
  type TagRef,
  type TagState,
} from '../../core';
import { applyInOrder } from '../apply-all';
import { backOffAfterConflict } from '../conflict-retry';
import { stillNaming } from '../digest-index';
import type { EffectUpdate, FailedRecord, HistoryStore } from '../port';
import { DynamoDbFailureLog } from './failure-log';

import {
  digestKey,
  effectsKey,
  effectUpdateExpression,
  historyOf,
  legacyEventKey,
  legacyRowsOf,
  type OutboxItem,
  orderKey,
  outboxItem,
  rowKey,
  type StateItem,
  tagKey,
  toEffect,
  toState,
} from './items';
import { queryAll } from './query';
import { lostTheTag, tagWrite } from './tag-write';

const MAX_CONFLICT_RETRIES = 25;

/** A conditional write lost to another writer (and retried, or for a claim, left to the winner). */
export interface DynamoDbConflict {
  operation: 'apply' | 'claimDueEffects';
  key: string;
  attempt: number;
}

export interface DynamoDbHistoryStoreOptions {
  client: DynamoDBClient;
  tableName: string;
  /** Told of every lost conditional write: how tests prove a race was real. */
  onConflict?: (conflict: DynamoDbConflict) => void;
}

/**
 * DynamoDB history, one table. `apply` reads the tag's state item, then (for a known tag) whether the
 * event has a row, and writes the state item with the event's row on it under a compare-and-set on
 * its row count and version, so a concurrent writer or restore mark makes it fail and we re-read and
 * re-decide (`tag-write.ts`). Only an event with effects needs a transaction (the state item and the
 * outbox items). Correctness lives in those conditions, never in a read-then-write.
 */
export class DynamoDbHistoryStore implements HistoryStore {
  private readonly doc: DynamoDBDocumentClient;
  private readonly table: string;
  private readonly onConflict: (conflict: DynamoDbConflict) => void;
  private readonly failureLog: DynamoDbFailureLog;

  constructor(options: DynamoDbHistoryStoreOptions) {
    this.doc = DynamoDBDocumentClient.from(options.client, {
      marshallOptions: { removeUndefinedValues: true },
    });
    this.table = options.tableName;
    this.onConflict = options.onConflict ?? (() => {});
    this.failureLog = new DynamoDbFailureLog(this.doc, this.table);
  }

  async apply(event: RegistryEvent, policy: Policy, receivedAt: string): Promise<ApplyResult> {
    const rule = ruleFor(policy, event);
    for (let attempt = 0; ; attempt++) {
      const stateItem = await this.get<StateItem>(tagKey(event), 'STATE');
      const seen = stateItem !== null && (await this.seen(event, stateItem));
      const prev = stateItem ? toState(stateItem) : null;
      const step = recordStep({ prev, seen, event, rule, receivedAt });
      if (step.kind === 'duplicate') return step.result;
      const write = tagWrite(this.table, event, stateItem, step, receivedAt);
      try {
        const before = write.copyOut ? [write.copyOut, ...write.digestEntries] : write.digestEntries;
        await Promise.all(before.map((put) => this.doc.send(new PutCommand(put))));
        if (write.effects.length === 0) await this.doc.send(new PutCommand(write.state));
        else
          await this.doc.send(
            new TransactWriteCommand({
              TransactItems: [write.state, ...write.effects].map((put) => ({ Put: put })),
            }),
          );
        return step.result;
      } catch (error) {
        if (!lostTheTag(error, event.id)) throw error;
        this.onConflict({ operation: 'apply', key: tagKey(event), attempt: attempt + 1 });
        await backOffAfterConflict(
          attempt + 1,
          MAX_CONFLICT_RETRIES + 1,
          () => `gave up on ${formatTagRef(event)} after ${attempt + 1} conflicting writers`,
        );
      }
    }
  }

  /**
   * Whether the event was recorded for its tag: it is the state item's latest row, or has a row of
   * its own (or, for a tag the previous layout wrote, its marker). Read after the state item: a row
   * the state no longer holds was copied out before the state moved on, so it is found here.
   */
  private async seen(event: RegistryEvent, stateItem: StateItem): Promise<boolean> {
    if (stateItem.last?.eventId === event.id) return true;
    const [row, marker] = await Promise.all([
      this.get(tagKey(event), rowKey(event.id)),
      legacyRowsOf(stateItem) > 0 ? this.get<{ tagRef?: string }>(legacyEventKey(event.id), 'EVENT') : null,
    ]);
    return row !== null || marker?.tagRef === formatTagRef(event);
  }

  applyAll(events: RegistryEvent[], policy: Policy, receivedAt: string): Promise<ApplyResult[]> {
    return applyInOrder((e, p, r) => this.apply(e, p, r), events, policy, receivedAt);
  }

  async enqueueEffects(eventId: string, effects: Effect[], now: string): Promise<void> {
    for (const row of outboxRows(eventId, effects, now)) {
      try {
        await this.doc.send(
          new PutCommand({
            TableName: this.table,
            Item: outboxItem(row, now),
            ConditionExpression: 'attribute_not_exists(pk)',
          }),
        );
      } catch (error) {
        if (!(error instanceof ConditionalCheckFailedException)) throw error;
      }
    }
  }

  async tagState(ref: TagRef): Promise<TagState | null> {
    const item = await this.get<StateItem>(tagKey(ref), 'STATE');
    return item ? toState(item) : null;
  }

  async history(ref: TagRef): Promise<HistoryEntry[]> {
    const items = await this.query<{ pk: string; sk: string } & Record<string, unknown>>({
      KeyConditionExpression: 'pk = :pk',
      ExpressionAttributeValues: { ':pk': tagKey(ref) },
      ConsistentRead: true,
    });
    return historyOf(ref, items);
  }

  async markPendingRestore(ref: TagRef, restore: PendingRestore): Promise<boolean> {
    return this.conditionalUpdate({
      Key: { pk: tagKey(ref), sk: 'STATE' },
      UpdateExpression: 'SET pendingRestore = :p, #version = #version + :one',
      ConditionExpression: 'digest = :from',
      ExpressionAttributeNames: { '#version': 'version' },
      ExpressionAttributeValues: { ':p': restore, ':from': restore.from, ':one': 1 },
    });
  }

  /** One query of the digest's index partition, then each named tag's state (see `digest-index.ts`). */
  async tagsServing(registryHost: string, repository: string, digest: Digest): Promise<TagRef[]> {
    const entries = await this.query<{ sk: string }>({
      KeyConditionExpression: 'pk = :pk',
      ExpressionAttributeValues: { ':pk': digestKey(registryHost, repository, digest) },
      ConsistentRead: true,
    });
    const refs = entries.map(({ sk }) => ({ registryHost, repository, tag: sk }));
    return stillNaming(refs, digest, (ref) => this.tagState(ref));
  }

  async clearPendingRestore(ref: TagRef, digest: Digest): Promise<void> {
    await this.conditionalUpdate({
      Key: { pk: tagKey(ref), sk: 'STATE' },
      UpdateExpression: 'SET pendingRestore = :none, #version = #version + :one',
      ConditionExpression: 'pendingRestore.digest = :digest',
      ExpressionAttributeNames: { '#version': 'version' },
      ExpressionAttributeValues: { ':none': null, ':digest': digest, ':one': 1 },
    });
  }

  async approveDigest(ref: TagRef, digest: Digest): Promise<boolean> {
    return this.conditionalUpdate({
      Key: { pk: tagKey(ref), sk: 'STATE' },
      UpdateExpression: 'SET approvedDigest = :digest, #version = #version + :one',
      ConditionExpression: 'digest = :digest',
      ExpressionAttributeNames: { '#version': 'version' },
      ExpressionAttributeValues: { ':digest': digest, ':one': 1 },
    });
  }

  async claimDueEffects(now: string, leaseUntil: string, limit: number): Promise<OutboxEffect[]> {
    const due = await this.query<OutboxItem>(
      {
        IndexName: 'gsi1',
        KeyConditionExpression: 'gsi1pk = :pending AND gsi1sk <= :max',
        ExpressionAttributeValues: { ':pending': 'OUTBOX#pending', ':max': `${now}#\uffff` },
      },
      limit,
    );
    const claimed: OutboxEffect[] = [];
    for (const item of due) {
      // Another worker may have claimed it since the index answered: the condition decides.
      if (await this.lease(item, item.nextAttemptAt, leaseUntil)) claimed.push(toEffect(item));
      else this.onConflict({ operation: 'claimDueEffects', key: item.key, attempt: 1 });
    }
    return claimed;
  }

  async renewLease(key: string, heldUntil: string, leaseUntil: string): Promise<boolean> {
    const hash = key.lastIndexOf('#');
    const item = await this.get<OutboxItem>(effectsKey(key.slice(0, hash)), key.slice(hash + 1));
    return item !== null && (await this.lease(item, heldUntil, leaseUntil));
  }

  /** Leases a pending effect until `leaseUntil`, if its next attempt is still `seen`. */
  private lease(item: OutboxItem, seen: string, leaseUntil: string): Promise<boolean> {
    return this.conditionalUpdate({
      Key: { pk: item.pk, sk: item.sk },
      UpdateExpression: 'SET nextAttemptAt = :lease, gsi1sk = :order',
      ConditionExpression: 'nextAttemptAt = :seen AND #status = :pending',
      ExpressionAttributeNames: { '#status': 'status' },
      ExpressionAttributeValues: {
        ':lease': leaseUntil,
        ':order': orderKey(leaseUntil, item.eventId, item.position),
        ':seen': seen,
        ':pending': 'pending',
      },
    });
  }

  async effectsOf(eventId: string): Promise<OutboxEffect[]> {
    const items = await this.query<OutboxItem>({
      KeyConditionExpression: 'pk = :pk',
      ExpressionAttributeValues: { ':pk': effectsKey(eventId) },
      ConsistentRead: true,
    });
    return items.map(toEffect).sort((a, b) => a.position - b.position);
  }

  async updateEffect(key: string, update: EffectUpdate, now: string): Promise<void> {
    const hash = key.lastIndexOf('#');
    const [eventId, kind] = [key.slice(0, hash), key.slice(hash + 1)];
    const current = await this.get<OutboxItem>(effectsKey(eventId), kind);
    if (!current) throw new Error(`no effect ${key} in the outbox`);
    const { expression, names, values } = effectUpdateExpression(update, current, now);
    await this.doc.send(
      new UpdateCommand({
        TableName: this.table,
        Key: { pk: current.pk, sk: current.sk },
        UpdateExpression: expression,
        ExpressionAttributeNames: names,
        ExpressionAttributeValues: values,
      }),
    );
  }

  async failedEffects(limit: number): Promise<OutboxEffect[]> {
    const items = await this.query<OutboxItem>(
      {
        IndexName: 'gsi1',
        KeyConditionExpression: 'gsi1pk = :failed',
        ExpressionAttributeValues: { ':failed': 'OUTBOX#failed' },
        ScanIndexForward: false,
      },
      limit,
    );
    return items.map(toEffect);
  }

  recordFailure(record: Omit<FailedRecord, 'id'>): Promise<void> {
    return this.failureLog.recordFailure(record);
  }

  failures(limit: number): Promise<FailedRecord[]> {
    return this.failureLog.failures(limit);
  }

  /** The client belongs to the caller (one per Lambda container), so nothing is destroyed here. */
  async close(): Promise<void> {}

  private async get<T>(pk: string, sk: string): Promise<T | null> {
    const answer = await this.doc.send(
      new GetCommand({ TableName: this.table, Key: { pk, sk }, ConsistentRead: true }),
    );
    return (answer.Item as T | undefined) ?? null;
  }

  private query<T>(input: Omit<QueryCommandInput, 'TableName'>, limit?: number): Promise<T[]> {
    return queryAll<T>(this.doc, this.table, input, limit);
  }

  private async conditionalUpdate(
    input: Omit<ConstructorParameters<typeof UpdateCommand>[0], 'TableName'>,
  ): Promise<boolean> {
    try {
      await this.doc.send(new UpdateCommand({ ...input, TableName: this.table }));
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
  }
}
