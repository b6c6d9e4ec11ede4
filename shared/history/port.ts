import type {
  Digest,
  Effect,
  EffectKind,
  EventAction,
  PendingRestore,
  RegistryEvent,
  TagRef,
  TagState,
  Transition,
  TransitionKind,
} from '../core';

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

export type EffectUpdate =
  | { status: 'done'; outcome: string }
  /** Not an attempt: the effect waits for another one (an alert for the revert it reports). */
  | { status: 'waiting'; nextAttemptAt: string }
  | { status: 'failed'; error: string }
  | { status: 'pending'; error: string; nextAttemptAt: string };

/** An event or body Tagwarden could not process, kept for an operator to list and replay. */
export interface FailedRecord {
  id: number;
  source: string;
  reason: string;
  payload: string;
  receivedAt: string;
}

/** Turns a transition into the effects to enqueue with it, in the same atomic write. */
export type Planner = (
  transition: Transition,
  event: RegistryEvent,
  eventTime: string,
  /** The digest the tag was approved to serve before this event (what a revert restores). */
  approvedDigest: Digest | null,
) => Effect[];

export interface ApplyResult {
  transition: Transition;
  previousDigest: Digest | null;
  eventTime: string;
  effects: OutboxEffect[];
}

/**
 * Digest history of every tag. `apply` is atomic: the duplicate check, the transition, the history
 * row and the outbox effects commit together or not at all, and two writers racing on one tag are
 * serialized by the store (transaction, conditional write or ETag), never by the caller.
 */
export interface HistoryStore {
  apply(event: RegistryEvent, plan: Planner, receivedAt: string): Promise<ApplyResult>;
  /**
   * Applies events in order, each exactly as `apply` would. A store may commit them together (all or
   * none), which is how SQLite takes a webhook batch or a replay in one write.
   */
  applyAll(events: RegistryEvent[], plan: Planner, receivedAt: string): Promise<ApplyResult[]>;
  tagState(ref: TagRef): Promise<TagState | null>;
  history(ref: TagRef): Promise<HistoryEntry[]>;
  /**
   * Adds effects that belong to no recorded transition yet (a push whose digest must be resolved
   * first). Keyed `eventId#kind` like every effect: enqueuing the same one twice keeps one.
   */
  enqueueEffects(eventId: string, effects: Effect[], now: string): Promise<void>;
  /** Records a restore about to be made, unless the tag no longer serves `restore.from`. */
  markPendingRestore(ref: TagRef, restore: PendingRestore): Promise<boolean>;
  clearPendingRestore(ref: TagRef, digest: Digest): Promise<void>;

  /**
   * Claims pending effects whose next attempt is due, oldest first: atomically moves their next
   * attempt to `leaseUntil`, so another worker does not run them too. A worker that dies leaves
   * them to be claimed again once the lease has passed (at-least-once; effects are idempotent).
   */
  claimDueEffects(now: string, leaseUntil: string, limit: number): Promise<OutboxEffect[]>;
  effectsOf(eventId: string): Promise<OutboxEffect[]>;
  updateEffect(key: string, update: EffectUpdate, now: string): Promise<void>;
  /** Effects that failed for good, newest first. */
  failedEffects(limit: number): Promise<OutboxEffect[]>;

  recordFailure(record: Omit<FailedRecord, 'id'>): Promise<void>;
  failures(limit: number): Promise<FailedRecord[]>;

  close(): Promise<void>;
}
