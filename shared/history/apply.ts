import {
  approvalAfter,
  type Effect,
  effectKey,
  nextTagState,
  type RegistryEvent,
  type TagState,
  type TransitionResult,
} from '../core';
import type { ApplyResult, HistoryEntry, OutboxEffect, Planner } from './port';

/** Builds the outbox rows for an event's effects; shared by every store. */
export function outboxRows(eventId: string, effects: Effect[], now: string): OutboxEffect[] {
  return effects.map((effect, position) => ({
    key: effectKey(eventId, effect.kind),
    eventId,
    kind: effect.kind,
    position,
    effect,
    status: 'pending',
    attempts: 0,
    nextAttemptAt: now,
    lastError: null,
    outcome: null,
  }));
}

/**
 * What every store does inside its atomic write, once it holds the tag's state and knows the event
 * is new: the transition, the planned effects, and the next state with its approval settled.
 */
export function planEvent(
  prev: TagState | null,
  event: RegistryEvent,
  plan: Planner,
  receivedAt: string,
): { result: TransitionResult; effects: OutboxEffect[] } {
  const result = nextTagState(prev, event, receivedAt);
  const effects = outboxRows(
    event.id,
    plan(result.transition, event, result.eventTime, prev?.approvedDigest ?? null),
    receivedAt,
  );
  const next = result.next
    ? approvalAfter(
        result.next,
        result.transition,
        effects.map((e) => e.kind),
      )
    : null;
  return { result: { ...result, next }, effects };
}

/** The answer to an event id the store has already recorded: nothing changes, nothing is planned. */
export function duplicateResult(
  prev: TagState | null,
  event: RegistryEvent,
  receivedAt: string,
): ApplyResult {
  return {
    transition: { kind: 'duplicate' },
    previousDigest: prev?.digest ?? null,
    eventTime: event.timestamp ?? receivedAt,
    effects: [],
  };
}

/** The history row every store writes for an event it recorded (SQLite numbers `seq` itself). */
export function historyRow(
  event: RegistryEvent,
  result: TransitionResult,
  receivedAt: string,
  seq: number,
): HistoryEntry {
  return {
    seq,
    eventId: event.id,
    action: event.action,
    registryHost: event.registryHost,
    repository: event.repository,
    tag: event.tag,
    digest: event.digest,
    previousDigest: result.previousDigest,
    transition: result.transition.kind,
    eventTime: result.eventTime,
    receivedAt,
    actor: event.actor,
  };
}
