import type {
  ApplyResult,
  Digest,
  Effect,
  HistoryEntry,
  OutboxEffect,
  PendingRestore,
  Policy,
  RegistryEvent,
  TagRef,
  TagState,
} from '../core';

// What a store records is decided in core (`recordStep`); these names stay importable from here.
export type { ApplyResult, EffectStatus, HistoryEntry, HistoryRow, OutboxEffect } from '../core';

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

/**
 * Digest history of every tag. `apply` is atomic: the duplicate check, the transition, the history
 * row and the outbox effects commit together or not at all, and two writers racing on one tag are
 * serialized by the store (transaction, conditional write or ETag), never by the caller. What to
 * record is core's `recordStep`, with the policy's rule for the tag.
 */
export interface TagHistory {
  apply(event: RegistryEvent, policy: Policy, receivedAt: string): Promise<ApplyResult>;
  /**
   * Applies events in order, each exactly as `apply` would. A store may commit them together (all or
   * none), which is how SQLite takes a webhook batch or a replay in one write.
   */
  applyAll(events: RegistryEvent[], policy: Policy, receivedAt: string): Promise<ApplyResult[]>;
  tagState(ref: TagRef): Promise<TagState | null>;
  history(ref: TagRef): Promise<HistoryEntry[]>;
  /** Records a restore about to be made, unless the tag no longer serves `restore.from`. */
  markPendingRestore(ref: TagRef, restore: PendingRestore): Promise<boolean>;
  clearPendingRestore(ref: TagRef, digest: Digest): Promise<void>;
  /**
   * The repository's tags that serve `digest` or whose approved digest it is (what a revert would
   * restore), sorted by tag: those a manifest deleted by digest is recorded against. Found without
   * scanning every tag (stores keyed per tag keep a digest index: `digest-index.ts`).
   */
  tagsServing(registryHost: string, repository: string, digest: Digest): Promise<TagRef[]>;
  /**
   * Makes `digest` the tag's approved digest (what a later revert restores), atomically and only
   * while the tag still serves it: false when it serves another digest, nothing, or is unknown.
   * For a move the policy let stand after it was recorded (a harmless move under allow or alert).
   */
  approveDigest(ref: TagRef, digest: Digest): Promise<boolean>;
}

/** The effects waiting to run, each keyed `eventId#kind`, claimed under a lease. */
export interface Outbox {
  /**
   * Adds effects that belong to no recorded transition yet (a push whose digest must be resolved
   * first). Keyed `eventId#kind` like every effect: enqueuing the same one twice keeps one.
   */
  enqueueEffects(eventId: string, effects: Effect[], now: string): Promise<void>;
  /**
   * Claims pending effects whose next attempt is due, oldest first: atomically moves their next
   * attempt to `leaseUntil`, so another worker does not run them too. A worker that dies leaves
   * them to be claimed again once the lease has passed (at-least-once; effects are idempotent).
   */
  claimDueEffects(now: string, leaseUntil: string, limit: number): Promise<OutboxEffect[]>;
  /**
   * Moves the lease on one claimed effect from `heldUntil` (what its claim or last renewal set) to
   * `leaseUntil`, atomically, and only while it is still pending under that very lease. False when
   * it was settled or another worker has claimed it since: the caller must then leave it alone.
   * A later claim always sets a later lease, so `heldUntil` is the holder's fencing token.
   */
  renewLease(key: string, heldUntil: string, leaseUntil: string): Promise<boolean>;
  effectsOf(eventId: string): Promise<OutboxEffect[]>;
  updateEffect(key: string, update: EffectUpdate, now: string): Promise<void>;
  /** Effects that failed for good, newest first. */
  failedEffects(limit: number): Promise<OutboxEffect[]>;
  /**
   * For metrics, read when scraped: how many effects are pending (waiting, due or leased), and the
   * earliest `nextAttemptAt` among them — null when none is. One plain read, no lock, no claim; a
   * leased effect's `nextAttemptAt` is its lease, so only effects left waiting past their due time
   * make the earliest one old. Optional: a store without it reports no outbox gauges.
   */
  outboxDepth?(): Promise<OutboxDepth>;
}

/** What `Outbox.outboxDepth` reads. */
export interface OutboxDepth {
  pending: number;
  oldestDueAt: string | null;
}

/** Bodies and events that could not be processed, for an operator to list and replay. */
export interface FailureLog {
  recordFailure(record: Omit<FailedRecord, 'id'>): Promise<void>;
  failures(limit: number): Promise<FailedRecord[]>;
}

/** Everything one database holds, for composition roots; callers depend on the narrow ports. */
export type HistoryStore = TagHistory &
  Outbox &
  FailureLog & {
    close(): Promise<void>;
  };
