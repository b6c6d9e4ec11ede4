import type { Digest, RegistryEvent } from './model';
import { compareEventTimes } from './time';

/**
 * Every kind of Transition, at run time: the web interface's filter, the API's validation and replay's
 * reading of a history document list the kinds from here, so a new kind is in all of them.
 */
export const TRANSITION_KINDS = [
  'first-seen',
  'unchanged',
  'overwrite',
  'overwritten',
  'stale',
  'duplicate',
  'deleted',
  'restored',
  'digest-deleted',
  'attempt',
] as const;

export type TransitionKind = (typeof TRANSITION_KINDS)[number];

/**
 * What applying one event did to a tag. Every store answers with one of these. Its kinds are those of
 * TRANSITION_KINDS (a test fails to compile when they part).
 */
export type Transition =
  | { kind: 'first-seen'; digest: Digest }
  | { kind: 'unchanged'; digest: Digest }
  | { kind: 'overwrite'; from: Digest; to: Digest }
  /**
   * A push that arrived after a newer push of another digest, when that newer push is the only one
   * recorded for the tag: it was the tag's first digest, and the recorded push overwrote it. Without
   * this, two pushes of a new tag delivered in reverse order would be `first-seen` + `stale`, and the
   * overwrite between them would never be seen.
   */
  | { kind: 'overwritten'; digest: Digest; by: Digest }
  | { kind: 'stale'; digest: Digest | null; current: Digest | null }
  | { kind: 'duplicate' }
  | { kind: 'deleted'; digest: Digest | null }
  | { kind: 'restored'; digest: Digest; replaced: Digest | null }
  /**
   * The registry deleted the manifest `digest` (by digest, not by tag). `serving` is what the tag
   * served before (the tag serves nothing now when it was `digest`), `approved` what a revert of the
   * tag would restore (nothing can be restored now when it was `digest`). See digest-deleted.ts.
   */
  | { kind: 'digest-deleted'; digest: Digest; serving: Digest | null; approved: Digest | null }
  /**
   * A push the registry refused (the tag is locked): the tag still serves `serving`; `attempted` is
   * what the push tried to put there, when the call carries it. `count` numbers the attempts by the
   * same actor in the current window; only the first of a window (`grouped: false`) is alerted, and
   * `closed` is the group it ends when that group held attempts no alert told of (count above 1).
   */
  | {
      kind: 'attempt';
      serving: Digest | null;
      attempted: Digest | null;
      count: number;
      grouped: boolean;
      closed: AttemptGroup | null;
    };

/** A restore Tagwarden is about to make, recorded before the registry call so its echo is recognized. */
export interface PendingRestore {
  digest: Digest;
  /** The digest being replaced. */
  from: Digest;
  /** ISO time after which an echo is no longer expected. */
  until: string;
}

/** The stored state of one tag: the digest it serves per the newest event applied. */
export interface TagState {
  /** What the tag serves now; null after a delete. */
  digest: Digest | null;
  /** The last digest the tag served, kept across a delete so delete-then-push is still an overwrite. */
  lastDigest: Digest | null;
  /** Event time of the newest applied event. */
  eventTime: string;
  eventId: string;
  pendingRestore: PendingRestore | null;
  /**
   * The last digest the policy let stand (first push, allowed or alerted move, restore). A revert
   * puts this back, not merely the previous digest: after A, B, C under a revert rule, C is replaced
   * by A, never by the unapproved B.
   */
  approvedDigest: Digest | null;
  /** Incremented on every write; stores use it for compare-and-set. */
  version: number;
  /** The newest group of refused pushes (attempts), for one alert per actor and window. */
  lastAttempt?: AttemptGroup | null;
}

/** Attempts at a tag by one actor within a window: the first alerts, the others count. */
export interface AttemptGroup {
  actor: string | null;
  /** Event time of the attempt that opened the window (and was alerted). */
  since: string;
  count: number;
}

/** How long repeated attempts by one actor at one tag are grouped under one alert, by default. */
export const DEFAULT_ATTEMPT_WINDOW_MS = 10 * 60 * 1000;

/** The state of a tag Tagwarden first hears of through an attempt: no digest known, time before any push. */
const NO_PUSH_YET = '1970-01-01T00:00:00.000Z';

export interface TransitionResult {
  transition: Transition;
  /** The state to write, or null when the state does not change (stale events). */
  next: TagState | null;
  /** The digest the tag served before this event (for history rows). */
  previousDigest: Digest | null;
  /** The time this event counts at: its own timestamp, or when it was received. */
  eventTime: string;
}

/**
 * The heart of Tagwarden: what one event does to one tag. Pure, so every store (SQLite, DynamoDB,
 * Table Storage, memory) shares the same semantics and only supplies atomicity. Duplicate detection
 * is the store's job (it needs the set of seen ids); everything else is here.
 *
 * - An event older than the newest one applied is `stale`: kept in history, never moves the tag;
 *   except a push older than the tag's only recorded push, with another digest: `overwritten`.
 * - Equal times count as newer: with second-resolution clocks we cannot order them, and missing an
 *   overwrite is worse than reporting one.
 * - A tag deleted and pushed again with another digest is an overwrite of what it served before:
 *   deleting first is no way around the policy.
 * - A push of the digest Tagwarden is restoring is `restored` (the echo of our own revert).
 * - A delete by digest (`byDigest`) is not a tag event: `recordStep` hands it to `digestDeletedOn`.
 */
export function nextTagState(
  prev: TagState | null,
  event: RegistryEvent,
  receivedAt: string,
  attemptWindowMs = DEFAULT_ATTEMPT_WINDOW_MS,
): TransitionResult {
  const eventTime = event.timestamp ?? receivedAt;
  if (event.action === 'attempt') return attemptOn(prev, event, eventTime, attemptWindowMs);
  const previousDigest = prev ? (prev.digest ?? prev.lastDigest) : null;
  const version = (prev?.version ?? 0) + 1;

  if (prev && compareEventTimes(eventTime, prev.eventTime) < 0) {
    if (
      event.action === 'push' &&
      event.digest !== null &&
      isOnlyPush(prev) &&
      event.digest !== prev.digest
    ) {
      // The tag still serves the newer push; the late one was approved by being first, until the
      // effects planned for this overwrite settle it (approvalAfter).
      return {
        transition: { kind: 'overwritten', digest: event.digest, by: prev.digest! },
        next: { ...prev, approvedDigest: event.digest, version },
        previousDigest,
        eventTime,
      };
    }
    return {
      transition: { kind: 'stale', digest: event.digest, current: prev.digest },
      next: null,
      previousDigest,
      eventTime,
    };
  }

  if (event.action === 'delete') {
    if (prev && event.digest !== null && prev.digest !== null && event.digest !== prev.digest) {
      // A delete of a manifest the tag no longer serves says nothing about the tag now.
      return {
        transition: { kind: 'stale', digest: event.digest, current: prev.digest },
        next: null,
        previousDigest,
        eventTime,
      };
    }
    const next: TagState = {
      digest: null,
      lastDigest: previousDigest ?? event.digest,
      eventTime,
      eventId: event.id,
      pendingRestore: prev?.pendingRestore ?? null,
      approvedDigest: prev?.approvedDigest ?? null,
      version,
    };
    return {
      transition: { kind: 'deleted', digest: prev?.digest ?? event.digest },
      next,
      previousDigest,
      eventTime,
    };
  }

  const digest = event.digest;
  if (digest === null) throw new Error(`push event ${event.id} has no digest; resolve it before recording`);

  const pending =
    prev?.pendingRestore && compareEventTimes(receivedAt, prev.pendingRestore.until) <= 0
      ? prev.pendingRestore
      : null;
  const base = { eventTime, eventId: event.id, version };

  if (pending && digest === pending.digest) {
    return {
      transition: { kind: 'restored', digest, replaced: prev?.digest ?? null },
      next: { ...base, digest, lastDigest: digest, pendingRestore: null, approvedDigest: digest },
      previousDigest,
      eventTime,
    };
  }
  // An overwrite is approved, or not, by the effects planned for it: see approvalAfter().
  const keep = {
    ...base,
    digest,
    lastDigest: digest,
    pendingRestore: pending,
    approvedDigest: prev?.approvedDigest ?? digest,
  };
  if (previousDigest === null) {
    return {
      transition: { kind: 'first-seen', digest },
      next: { ...keep, approvedDigest: digest },
      previousDigest,
      eventTime,
    };
  }
  if (previousDigest === digest) {
    return { transition: { kind: 'unchanged', digest }, next: keep, previousDigest, eventTime };
  }
  return {
    transition: { kind: 'overwrite', from: previousDigest, to: digest },
    next: keep,
    previousDigest,
    eventTime,
  };
}

/**
 * A refused push never moves the tag (nor its event time: a late attempt is still an attempt); it
 * only counts in the tag's attempt group, which a new actor or the end of the window starts afresh.
 * A tag first heard of through an attempt gets a state serving nothing, timed before any push, so
 * the push that created the tag still lands as `first-seen` when its event arrives.
 */
function attemptOn(
  prev: TagState | null,
  event: RegistryEvent,
  eventTime: string,
  windowMs: number,
): TransitionResult {
  const group = prev?.lastAttempt ?? null;
  const elapsed = group ? Date.parse(eventTime) - Date.parse(group.since) : Number.NaN;
  const grouped = group !== null && group.actor === event.actor && elapsed >= 0 && elapsed < windowMs;
  const lastAttempt: AttemptGroup = grouped
    ? { ...group, count: group.count + 1 }
    : { actor: event.actor, since: eventTime, count: 1 };
  const base: TagState = prev ?? {
    digest: null,
    lastDigest: null,
    eventTime: NO_PUSH_YET,
    eventId: event.id,
    pendingRestore: null,
    approvedDigest: null,
    version: 0,
  };
  return {
    transition: {
      kind: 'attempt',
      serving: prev?.digest ?? null,
      attempted: event.digest,
      count: lastAttempt.count,
      grouped,
      closed: !grouped && group !== null && group.count > 1 ? group : null,
    },
    next: { ...base, lastAttempt, version: base.version + 1 },
    previousDigest: prev ? (prev.digest ?? prev.lastDigest) : null,
    eventTime,
  };
}

/**
 * The tag's state was written once, by its first push, and nothing has happened since (no second
 * event, no delete, no restore in flight): the state every store creates for a first-seen push.
 */
function isOnlyPush(state: TagState): boolean {
  return state.version === 1 && state.digest !== null && state.pendingRestore === null;
}

/**
 * Settles the approved digest once the effects of a transition are known (stores call it in the
 * same atomic write): an overwrite that is not being reverted is approved, one being reverted is not.
 */
export function approvalAfter(
  next: TagState,
  transition: Transition,
  plannedEffectKinds: readonly string[],
): TagState {
  if (plannedEffectKinds.includes('revert')) return next;
  if (transition.kind === 'overwrite') return { ...next, approvedDigest: transition.to };
  if (transition.kind === 'overwritten') return { ...next, approvedDigest: transition.by };
  return next;
}

export function assertNever(value: never): never {
  throw new Error(`unexpected value ${JSON.stringify(value)}`);
}
