import Database from 'better-sqlite3';
import type { Effect, EffectKind, HistoryEntry, OutboxEffect } from '../../core';

/** A row of the `history` table as SQLite returns it. */
export interface HistoryRow {
  seq: number;
  event_id: string;
  action: 'push' | 'delete';
  registry_host: string;
  repository: string;
  tag: string;
  digest: string | null;
  previous_digest: string | null;
  transition: HistoryEntry['transition'];
  event_time: string;
  received_at: string;
  actor: string | null;
}

export function toHistoryEntry(row: HistoryRow): HistoryEntry {
  return {
    seq: row.seq,
    eventId: row.event_id,
    action: row.action,
    registryHost: row.registry_host,
    repository: row.repository,
    tag: row.tag,
    digest: row.digest,
    previousDigest: row.previous_digest,
    transition: row.transition,
    eventTime: row.event_time,
    receivedAt: row.received_at,
    actor: row.actor,
  };
}

/** Everything a history file recorded, in recorded order, with the kinds of effects each event planned. */
export interface RecordedHistory {
  rows: HistoryEntry[];
  effectKinds: Map<string, EffectKind[]>;
}

/**
 * Reads a whole history file without writing to it (opened read-only, never created or migrated):
 * what `replay --from-db` runs through another policy.
 */
export function readRecordedHistory(path: string): RecordedHistory {
  const db = new Database(path, { readonly: true, fileMustExist: true });
  try {
    const rows = db.prepare<[], HistoryRow>('SELECT * FROM history ORDER BY seq').all().map(toHistoryEntry);
    const effectKinds = new Map<string, EffectKind[]>();
    const effects = db
      .prepare<[], { event_id: string; kind: EffectKind }>('SELECT event_id, kind FROM outbox ORDER BY key')
      .all();
    for (const { event_id, kind } of effects)
      effectKinds.set(event_id, [...(effectKinds.get(event_id) ?? []), kind]);
    return { rows, effectKinds };
  } finally {
    db.close();
  }
}

/** A row of the `outbox` table as SQLite returns it. */
export interface OutboxRow {
  key: string;
  event_id: string;
  kind: OutboxEffect['kind'];
  position: number;
  effect: string;
  status: OutboxEffect['status'];
  attempts: number;
  next_attempt_at: string;
  last_error: string | null;
  outcome: string | null;
}

export function toOutboxEffect(row: OutboxRow): OutboxEffect {
  return {
    key: row.key,
    eventId: row.event_id,
    kind: row.kind,
    position: row.position,
    effect: JSON.parse(row.effect) as Effect,
    status: row.status,
    attempts: row.attempts,
    nextAttemptAt: row.next_attempt_at,
    lastError: row.last_error,
    outcome: row.outcome,
  };
}
