import { clusterBumpEventId, formatTagRef, type TagRef } from '../../shared/core';
import { decodeOutcome, outcomeText } from '../../shared/guard/effects';
import type { HistoryEntry, Outbox, OutboxEffect } from '../../shared/history';
import { alignedTable, shortDigests, TERMINAL_WIDTH } from './text-table';

/** How many dead letters `history` looks through for ones no event row leads to (resolve effects). */
const FAILED_SCAN = 1000;

/** One effect as `tagwarden history` shows it. */
export interface TagEffectView {
  key: string;
  eventId: string;
  kind: OutboxEffect['kind'];
  cluster: string | null;
  status: OutboxEffect['status'];
  attempts: number;
  nextAttemptAt: string;
  /** What the effect did, in words. */
  outcome: string | null;
  lastError: string | null;
}

/**
 * The outbox effects of a tag's events, in history order: each event's own effects, the per-cluster
 * bumps a planned bump was queued as, and any other dead letter of the tag (a push whose digest
 * could not be resolved), so a failed effect is never missing from `tagwarden history`.
 */
export async function effectsOfTag(
  store: Pick<Outbox, 'effectsOf' | 'failedEffects'>,
  ref: TagRef,
  rows: HistoryEntry[],
): Promise<TagEffectView[]> {
  const found: OutboxEffect[] = [];
  for (const row of rows) {
    const own = await store.effectsOf(row.eventId);
    found.push(...own);
    for (const bump of own.filter((e) => e.kind === 'bump')) {
      const outcome = decodeOutcome(bump.outcome);
      for (const name of outcome?.kind === 'fannedOut' ? outcome.clusters : [])
        found.push(...(await store.effectsOf(clusterBumpEventId(row.eventId, name))));
    }
  }
  const seen = new Set(found.map((e) => e.key));
  const tagRef = formatTagRef(ref);
  const failed = (await store.failedEffects(FAILED_SCAN))
    .filter((e) => !seen.has(e.key) && formatTagRef(e.effect.incident.ref) === tagRef)
    .reverse();
  return [...found, ...failed].map(view);
}

function view(e: OutboxEffect): TagEffectView {
  return {
    key: e.key,
    eventId: e.eventId,
    kind: e.kind,
    cluster: e.effect.kind === 'bump' ? (e.effect.cluster ?? null) : null,
    status: e.status,
    attempts: e.attempts,
    nextAttemptAt: e.nextAttemptAt,
    outcome: outcomeText(e.outcome),
    lastError: e.lastError,
  };
}

function resultOf(e: TagEffectView, wide: boolean): string {
  const text = (e.status === 'done' ? e.outcome : e.lastError) ?? '-';
  return wide ? text : shortDigests(text);
}

/** The effects as an aligned table, one line each; within 120 columns unless `wide`. */
export function effectsTable(effects: TagEffectView[], wide = false): string {
  const header = ['STATUS', 'EFFECT', 'ATTEMPTS', 'RESULT', 'KEY'];
  const body = effects.map((e) => [
    e.status,
    e.cluster ? `${e.kind} ${e.cluster}` : e.kind,
    String(e.attempts),
    resultOf(e, wide),
    e.key,
  ]);
  // The key is what `retry --key` takes: never cut; a long result is.
  return alignedTable(header, body, wide ? undefined : { maxWidth: TERMINAL_WIDTH, shrink: [3] });
}
