import { decide, type Effect, type EffectKind, effectKey } from './decide';
import { digestDeletedOn } from './digest-deleted';
import type { Digest, EventAction, RegistryEvent } from './model';
import type { ResolvedRule } from './policy';
import {
  approvalAfter,
  nextTagState,
  type TagState,
  type Transition,
  type TransitionKind,
} from './transition';

/** One row of a tag's history: every event that reached the store once, in the order it was recorded. */
export interface HistoryEntry {
  seq: number;
  eventId: string;
  action: EventAction;
  registryHost: string;
  repository: string;
  tag: string;
  digest: Digest | null;
  previousDigest: Digest | null;
  transition: TransitionKind;
  eventTime: string;
  receivedAt: string;
  actor: string | null;
}

/** A history row before the store numbers it (each store keeps its own sequence). */
export type HistoryRow = Omit<HistoryEntry, 'seq'>;

export type EffectStatus = 'pending' | 'done' | 'failed';

/** An effect in the outbox, keyed `eventId#kind`, run from the persisted decision. */
export interface OutboxEffect {
  key: string;
  eventId: string;
  kind: EffectKind;
  /** Order among the effects of one event. */
  position: number;
  effect: Effect;
  status: EffectStatus;
  attempts: number;
  nextAttemptAt: string;
  lastError: string | null;
  /** What the effect did, for the alert that reports it (`reverted`, `skipped: …`). */
  outcome: string | null;
}

/** What recording one event did, as a store returns it. */
export interface ApplyResult {
  transition: Transition;
  previousDigest: Digest | null;
  eventTime: string;
  effects: OutboxEffect[];
}

/** What a store knows before recording an event: the tag's state and whether the id was seen. */
export interface RecordInput {
  prev: TagState | null;
  seen: boolean;
  event: RegistryEvent;
  /** The policy rule for the event's tag (`ruleFor`). */
  rule: ResolvedRule;
  receivedAt: string;
}

/** What a store must write atomically for one event: nothing for a duplicate. */
export type RecordStep =
  | { kind: 'duplicate'; result: ApplyResult }
  | {
      kind: 'recorded';
      result: ApplyResult;
      /** The tag's next state with its approval settled, or null when it does not move (stale). */
      next: TagState | null;
      history: HistoryRow;
    };

/**
 * Recording one event, as one pure step: the transition, the effects the rule calls for (keyed for
 * the outbox), the next state and the history row. A store reads `prev` and `seen`, calls this, and
 * writes the answer in one atomic write, retrying the whole read-step-write on a conflict.
 */
export function recordStep({ prev, seen, event, rule, receivedAt }: RecordInput): RecordStep {
  if (seen) {
    const result: ApplyResult = {
      transition: { kind: 'duplicate' },
      previousDigest: prev?.digest ?? null,
      eventTime: event.timestamp ?? receivedAt,
      effects: [],
    };
    return { kind: 'duplicate', result };
  }
  const { transition, next, previousDigest, eventTime } = event.byDigest
    ? digestDeletedOn(prev, event, event.timestamp ?? receivedAt)
    : nextTagState(prev, event, receivedAt, rule.attemptWindowMs);
  const planned = decide(transition, rule, event, eventTime, prev?.approvedDigest ?? null);
  const effects = outboxRows(event.id, planned, receivedAt);
  const kinds = effects.map((e) => e.kind);
  return {
    kind: 'recorded',
    result: { transition, previousDigest, eventTime, effects },
    next: next ? approvalAfter(next, transition, kinds) : null,
    history: {
      eventId: event.id,
      action: event.action,
      registryHost: event.registryHost,
      repository: event.repository,
      tag: event.tag,
      digest: event.digest,
      previousDigest,
      transition: transition.kind,
      eventTime,
      receivedAt,
      actor: event.actor,
    },
  };
}

/** The outbox rows for an event's effects, due at `now`, in the order they must run. */
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
