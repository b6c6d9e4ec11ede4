import { ConditionalCheckFailedException, TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import type { PutCommandInput } from '@aws-sdk/lib-dynamodb';
import type { RecordStep, RegistryEvent } from '../../core';
import { newlyNamedDigests } from '../digest-index';
import { digestEntry, legacyRowsOf, outboxItem, rowKey, type StateItem, tagKey, toState } from './items';

type Recorded = Extract<RecordStep, { kind: 'recorded' }>;

/**
 * What recording one event writes, cheapest first. The state item is the one place writers of a
 * tag meet: it carries the new state and the event's history row (so its id is seen), put under a
 * compare-and-set on the row count and version read (a concurrent writer or restore mark makes it
 * fail, and the caller re-reads and re-decides). Before that, the row the state item held is copied
 * out to its own item, the same bytes however often: a row is always on the state item or beside it.
 * Effects go in one transaction with the state item; an event without effects needs none. The digest
 * index entries of the digests the new state names are put before it too (see `digest-index.ts`).
 */
export interface TagWrite {
  /** The previous latest row as its own `E#<eventId>` item, or null when the tag had none on its state. */
  copyOut: PutCommandInput | null;
  /** `DIGEST#` entries for the digests the new state names and the one read did not, put before it. */
  digestEntries: PutCommandInput[];
  /** The state item with the new latest row, conditional on the state read. */
  state: PutCommandInput;
  /** The outbox items to put in the same transaction as `state`. */
  effects: PutCommandInput[];
}

export function tagWrite(
  table: string,
  event: RegistryEvent,
  stateItem: StateItem | null,
  step: Recorded,
  receivedAt: string,
): TagWrite {
  const pk = tagKey(event);
  const seq = (stateItem?.rows ?? 0) + 1;
  const state = step.next ?? (stateItem ? toState(stateItem) : null);
  if (!state) throw new Error(`no state for ${pk} after ${event.id}`); // the core moves a new tag always
  const { registryHost: _host, repository: _repository, tag: _tag, ...row } = step.history;
  const legacyRows = stateItem ? legacyRowsOf(stateItem) : 0;
  const item = {
    pk,
    sk: 'STATE',
    ...state,
    rows: seq,
    last: { seq, ...row },
    ...(legacyRows ? { legacyRows } : {}),
  };
  const condition = stateItem
    ? {
        ConditionExpression: '#rows = :rows AND #version = :version',
        ExpressionAttributeNames: { '#rows': 'rows', '#version': 'version' },
        ExpressionAttributeValues: { ':rows': stateItem.rows, ':version': stateItem.version },
      }
    : { ConditionExpression: 'attribute_not_exists(pk)' };
  const last = stateItem?.last;
  return {
    copyOut: last ? { TableName: table, Item: { pk, sk: rowKey(last.eventId), ...last } } : null,
    digestEntries: newlyNamedDigests(stateItem ? toState(stateItem) : null, step.next).map((digest) => ({
      TableName: table,
      Item: digestEntry(event, digest),
    })),
    state: { TableName: table, Item: item, ...condition },
    effects: step.result.effects.map((effect) => ({
      TableName: table,
      Item: outboxItem(effect, receivedAt),
      ConditionExpression: 'attribute_not_exists(pk)',
    })),
  };
}

/**
 * Whether a failed write lost the tag's state to another writer (re-read and re-decide). Outbox
 * items that already exist for the event id, the state being as read, are no race: an error.
 */
export function lostTheTag(error: unknown, eventId: string): boolean {
  if (error instanceof ConditionalCheckFailedException) return true;
  if (!(error instanceof TransactionCanceledException)) return false;
  const reasons = error.CancellationReasons ?? [];
  if (reasons[0]?.Code === 'ConditionalCheckFailed' || reasons.some((r) => r.Code === 'TransactionConflict'))
    return true;
  if (reasons.some((r) => r.Code === 'ConditionalCheckFailed'))
    throw new Error(
      `event ${eventId}: its outbox effects already exist, written for another tag's event with this id`,
    );
  return false;
}
