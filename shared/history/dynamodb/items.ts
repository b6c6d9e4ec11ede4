import { formatTagRef, type HistoryEntry, type OutboxEffect, type TagRef, type TagState } from '../../core';

import type { EffectUpdate } from '../port';

// The table's items: one STATE item per tag carrying its latest history row, E#<eventId> history rows
// beside it (the previous layout wrote H#<seq> rows and EVENT#<eventId> markers, still read), and
// EFFECTS#<eventId> outbox items, and DIGEST#<host>/<repository>@<digest> digest index entries (one
// item per tag that served or approved the digest, sort key the tag: see `digest-index.ts`).

/** A history row in the tag's partition: the tag's own fields are the partition's key. */
export type TagRow = Omit<HistoryEntry, 'registryHost' | 'repository' | 'tag'>;

/** A tag's state as the core keeps it, the count of its history rows, and its latest row. */
export interface StateItem extends TagState {
  /** History rows of the tag so far: the next row's sequence, and with `version` the compare-and-set token. */
  rows: number;
  /**
   * The tag's latest history row. The next write to the tag copies it out to its own `E#<eventId>`
   * item before moving the state on, so a row is either here or there. Absent on a state item the
   * previous layout wrote.
   */
  last?: TagRow;
  /** Rows the previous layout wrote for this tag (`H#<seq>` items, `EVENT#<eventId>` markers). */
  legacyRows?: number;
}

/** Rows of the tag written by the previous layout, whose ids are known by `EVENT#<eventId>` markers. */
export function legacyRowsOf(item: StateItem): number {
  return item.last === undefined ? item.rows : (item.legacyRows ?? 0);
}

/** A tag's history rows from every item of its partition (either layout), in the order recorded. */
export function historyOf(
  ref: TagRef,
  items: ({ pk: string; sk: string } & Record<string, unknown>)[],
): HistoryEntry[] {
  const bySeq = new Map<number, HistoryEntry>();
  const tagFields = { registryHost: ref.registryHost, repository: ref.repository, tag: ref.tag };
  for (const { pk: _pk, sk, ...item } of items) {
    if (sk === 'STATE') {
      const last = (item as unknown as StateItem).last;
      if (last) bySeq.set(last.seq, { ...last, ...tagFields });
    } else if (sk.startsWith('H#')) bySeq.set(item.seq as number, item as unknown as HistoryEntry);
    else if (sk.startsWith('E#'))
      bySeq.set(item.seq as number, { ...(item as unknown as TagRow), ...tagFields });
  }
  return [...bySeq.values()].sort((a, b) => a.seq - b.seq);
}

export interface OutboxItem extends OutboxEffect {
  pk: string;
  sk: string;
  gsi1pk?: string;
  gsi1sk?: string;
  updatedAt: string;
}

export const tagKey = (ref: TagRef) => `TAG#${formatTagRef(ref)}`;
export const digestKey = (registryHost: string, repository: string, digest: string) =>
  `DIGEST#${registryHost}/${repository}@${digest}`;
/** The digest index entry saying that the tag serves or approved `digest` (or did once). */
export const digestEntry = (ref: TagRef, digest: string) => ({
  pk: digestKey(ref.registryHost, ref.repository, digest),
  sk: ref.tag,
});
export const effectsKey = (eventId: string) => `EFFECTS#${eventId}`;
export const rowKey = (eventId: string) => `E#${eventId}`;
/** The previous layout's seen-id marker of an event, `{ tagRef }`. */
export const legacyEventKey = (eventId: string) => `EVENT#${eventId}`;
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
    ...(item.lastAttempt ? { lastAttempt: item.lastAttempt } : {}),
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
