import {
  type EffectKind,
  formatTagRef,
  type HistoryEntry,
  type Policy,
  type RegistryEvent,
  recordStep,
  ruleFor,
  type TagState,
} from '../../shared/core';
import type { RecordedHistory } from '../../shared/history';
import { alignedTable } from './text-table';

/** What an event led to, named by the strongest effect planned for it. */
export type ReplayAction = 'revert' | 'lock' | 'alert' | 'bump' | 'none';
const ACTIONS: ReplayAction[] = ['revert', 'lock', 'alert', 'bump', 'none'];

/** How long the echo of a simulated revert is expected (the runner's default restore window). */
const RESTORE_WINDOW_MS = 10 * 60_000;
/** How many differing events the text summary lists; `--json` lists them all. */
const DIFF_LINES = 20;

export interface ReplayedEvent {
  seq: number;
  eventId: string;
  tagRef: string;
  eventTime: string;
  recorded: { transition: string; action: ReplayAction };
  replayed: { transition: string; action: ReplayAction };
}

export interface ReplaySummary {
  events: number;
  /** Restores Tagwarden made under the recorded policy for a revert the new policy does not make. */
  skippedRestores: number;
  actions: Record<ReplayAction, { recorded: number; replayed: number }>;
  differ: ReplayedEvent[];
}

export function actionOf(kinds: readonly EffectKind[]): ReplayAction {
  return ACTIONS.find((action) => action !== 'none' && kinds.includes(action)) ?? 'none';
}

function eventOf(row: HistoryEntry): RegistryEvent {
  return {
    id: row.eventId,
    action: row.action,
    registryHost: row.registryHost,
    repository: row.repository,
    tag: row.tag,
    digest: row.digest,
    mediaType: null,
    timestamp: row.eventTime,
    actor: row.actor,
  };
}

/**
 * Runs recorded history, in recorded order, through another policy with the core's own recording
 * step, in memory. A revert the new policy makes is expected back as its echo (a pending restore, as
 * the revert executor records it); an echo recorded for a revert it does not make is not replayed.
 */
export function replayHistory({ rows, effectKinds }: RecordedHistory, policy: Policy): ReplaySummary {
  const states = new Map<string, TagState>();
  const summary: ReplaySummary = {
    events: 0,
    skippedRestores: 0,
    actions: Object.fromEntries(
      ACTIONS.map((a) => [a, { recorded: 0, replayed: 0 }]),
    ) as ReplaySummary['actions'],
    differ: [],
  };
  for (const row of rows) {
    const tagRef = formatTagRef(row);
    const prev = states.get(tagRef) ?? null;
    if (row.transition === 'restored' && !prev?.pendingRestore) {
      summary.skippedRestores += 1;
      continue;
    }
    const event = eventOf(row);
    const step = recordStep({
      prev,
      seen: false,
      event,
      rule: ruleFor(policy, event),
      receivedAt: row.receivedAt,
    });
    if (step.kind !== 'recorded') continue;
    const kinds = step.result.effects.map((e) => e.kind);
    const revert = step.result.effects.find((e) => e.kind === 'revert')?.effect.incident;
    const next = step.next ?? prev;
    if (next && revert?.restoreTo && revert.to) {
      const until = new Date(Date.parse(row.receivedAt) + RESTORE_WINDOW_MS).toISOString();
      states.set(tagRef, { ...next, pendingRestore: { digest: revert.restoreTo, from: revert.to, until } });
    } else if (next) states.set(tagRef, next);
    const replayed = {
      seq: row.seq,
      eventId: row.eventId,
      tagRef,
      eventTime: row.eventTime,
      recorded: { transition: row.transition, action: actionOf(effectKinds.get(row.eventId) ?? []) },
      replayed: { transition: step.result.transition.kind, action: actionOf(kinds) },
    };
    count(summary, replayed);
  }
  return summary;
}

function count(summary: ReplaySummary, event: ReplayedEvent): void {
  summary.events += 1;
  summary.actions[event.recorded.action].recorded += 1;
  summary.actions[event.replayed.action].replayed += 1;
  if (
    event.recorded.action !== event.replayed.action ||
    event.recorded.transition !== event.replayed.transition
  )
    summary.differ.push(event);
}

/** The summary a person reads: counts per action, then the first events where the policies differ. */
export function replaySummaryText(summary: ReplaySummary, from: string, config: string): string {
  const lines = [`Replayed ${summary.events} recorded event(s) from ${from} through ${config}.`];
  if (summary.skippedRestores > 0)
    lines.push(
      `${summary.skippedRestores} restore(s) Tagwarden made for a recorded revert were left out: the new policy does not make that revert.`,
    );
  const counted = ACTIONS.filter((a) => summary.actions[a].recorded + summary.actions[a].replayed > 0);
  lines.push(
    '',
    alignedTable(
      ['ACTION', 'RECORDED', 'NEW POLICY'],
      counted.map((a) => [a, String(summary.actions[a].recorded), String(summary.actions[a].replayed)]),
    ),
    '',
  );
  if (summary.differ.length === 0)
    return [...lines, 'The new policy does the same to every event.'].join('\n');
  const shown = summary.differ.slice(0, DIFF_LINES);
  lines.push(
    `${summary.differ.length} event(s) differ${summary.differ.length > shown.length ? ` (the first ${shown.length}; --json lists all)` : ''}:`,
    alignedTable(
      ['EVENT TIME', 'TAG', 'RECORDED', 'NEW POLICY'],
      shown.map((e) => [
        e.eventTime,
        e.tagRef,
        `${e.recorded.transition} ${e.recorded.action}`,
        `${e.replayed.transition} ${e.replayed.action}`,
      ]),
    ),
  );
  return lines.join('\n');
}
