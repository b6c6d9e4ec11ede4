import { formatTagRef, type OutboxEffect, type TagRef, type TagState } from '../../core';

import type { EffectUpdate } from '../port';

// The table's items: one STATE item per tag, H#<seq> history rows beside it, EFFECTS#<eventId> outbox items.

/** A tag's state as the core keeps it, and the count of its history rows. */
export interface StateItem extends TagState {
  /** History rows of the tag so far: the next row's sequence, and with `version` the compare-and-set token. */
  rows: number;
}

export interface OutboxItem extends OutboxEffect {
  pk: string;
  sk: string;
  gsi1pk?: string;
  gsi1sk?: string;
  updatedAt: string;
}

export const tagKey = (ref: TagRef) => `TAG#${formatTagRef(ref)}`;
export const effectsKey = (eventId: string) => `EFFECTS#${eventId}`;
export const rowKey = (seq: number) => `H#${String(seq).padStart(12, '0')}`;
export const orderKey = (at: string, eventId: string, position: number) =>
  `${at}#${eventId}#${String(position).padStart(3, '0')}`;

export function toState(item: StateItem): TagState {
  return {
    digest: item.digest ?? null,
    lastDigest: item.lastDigest ?? null,
    eventTime: item.eventTime,
    eventId: item.eventId,
    pendingRestore: item.pendingRestore ?? null,
    approvedDigest: item.approvedDigest ?? null,
    version: item.version,
  };
}

export function outboxItem(effect: OutboxEffect, now: string): OutboxItem {
  return {
    ...effect,
    pk: effectsKey(effect.eventId),
    sk: effect.kind,
    gsi1pk: `OUTBOX#${effect.status}`,
    gsi1sk: orderKey(effect.nextAttemptAt, effect.eventId, effect.position),
    updatedAt: now,
  };
}

export function toEffect(item: OutboxItem): OutboxEffect {
  return {
    key: item.key,
    eventId: item.eventId,
    kind: item.kind,
    position: item.position,
    effect: item.effect,
    status: item.status,
    attempts: item.attempts,
    nextAttemptAt: item.nextAttemptAt,
    lastError: item.lastError ?? null,
    outcome: item.outcome ?? null,
  };
}

/** The UpdateExpression that moves an outbox item as the port's `EffectUpdate` says. */
export function effectUpdateExpression(
  update: EffectUpdate,
  item: Pick<OutboxItem, 'eventId' | 'position'>,
  now: string,
): { expression: string; names: Record<string, string> | undefined; values: Record<string, unknown> } {
  // DynamoDB refuses attribute names an expression does not use, so `waiting` has none.
  let names: Record<string, string> | undefined = { '#status': 'status' };
  let expression: string;
  let values: Record<string, unknown>;
  switch (update.status) {
    case 'waiting':
      names = undefined;
      expression = 'SET nextAttemptAt = :next, gsi1sk = :order, updatedAt = :now';
      values = {
        ':next': update.nextAttemptAt,
        ':order': orderKey(update.nextAttemptAt, item.eventId, item.position),
        ':now': now,
      };
      break;
    case 'pending':
      expression =
        'SET #status = :s, attempts = attempts + :one, lastError = :error, nextAttemptAt = :next, gsi1pk = :index, gsi1sk = :order, updatedAt = :now';
      values = {
        ':s': 'pending',
        ':one': 1,
        ':error': update.error,
        ':next': update.nextAttemptAt,
        ':index': 'OUTBOX#pending',
        ':order': orderKey(update.nextAttemptAt, item.eventId, item.position),
        ':now': now,
      };
      break;
    case 'done':
      expression =
        'SET #status = :s, attempts = attempts + :one, outcome = :outcome, updatedAt = :now REMOVE gsi1pk, gsi1sk';
      values = { ':s': 'done', ':one': 1, ':outcome': update.outcome, ':now': now };
      break;
    case 'failed':
      expression =
        'SET #status = :s, attempts = attempts + :one, lastError = :error, gsi1pk = :index, gsi1sk = :order, updatedAt = :now';
      values = {
        ':s': 'failed',
        ':one': 1,
        ':error': update.error,
        ':index': 'OUTBOX#failed',
        ':order': orderKey(now, item.eventId, item.position),
        ':now': now,
      };
      break;
  }
  return { expression, names, values };
}
