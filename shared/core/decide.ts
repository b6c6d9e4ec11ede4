import type { AttemptOrigin, Digest, RegistryEvent, TagRef } from './model';
import { tagRefOf } from './model';
import type { PolicyAction, ResolvedRule } from './policy';
import { type AttemptGroup, assertNever, DEFAULT_ATTEMPT_WINDOW_MS, type Transition } from './transition';

/** What happened, as carried by every effect: enough to act and to write an alert without a lookup. */
export interface Incident {
  eventId: string;
  ref: TagRef;
  from: Digest | null;
  to: Digest | null;
  /** What a revert puts back: the last digest the policy let stand (see TagState.approvedDigest). */
  restoreTo: Digest | null;
  actor: string | null;
  eventTime: string;
  ruleAction: PolicyAction;
  ruleSource: string;
  owners: string[];
  /** Only for a refused push: `from` is the digest the tag still serves, `to` the one tried. */
  attempt?: AttemptFacts;
  /**
   * Only for a manifest deleted by digest: the deleted digest. `from` is what the tag served before,
   * `to` is null, `restoreTo` what a revert of the tag would restore.
   */
  digestDeleted?: Digest;
  /** Only for a drift finding a cluster's agent reported: what the alert says (see drift.ts). */
  drift?: DriftNotice;
}

/** A drift finding's kind (issue 15, see drift.ts). */
export type DriftKind = 'split' | 'stale' | 'risky';

/** What a drift alert says, decided when the finding is recorded (carried by the alert effect). */
export interface DriftNotice {
  cluster: string;
  kind: DriftKind;
  title: string;
  /** The one sentence a person acts on. */
  text: string;
  notes: string[];
}

/** What an alert on a refused push tells besides the incident: from where, and how often. */
export interface AttemptFacts extends AttemptOrigin {
  /** The window during which further attempts by the same actor are counted without an alert. */
  windowMs: number;
  /** The group this attempt ended, whose attempts after the first went unalerted; null if none. */
  earlier: AttemptGroup | null;
}

export type Effect =
  /** Put `incident.from` back under the tag, which now serves `incident.to`. */
  | { kind: 'revert'; incident: Incident }
  /** Lock the tag at the registry so it cannot be overwritten. */
  | { kind: 'lock'; incident: Incident }
  /** Tell the owners. `after` names an effect of the same event whose outcome the alert reports. */
  | { kind: 'alert'; incident: Incident; after: 'revert' | null }
  /**
   * Tell cluster endpoints the digest the tag serves changed. Planned without `cluster`; the runner
   * turns it into one bump per endpoint (with `cluster`), so each endpoint is retried on its own.
   */
  | { kind: 'bump'; incident: Incident; reason: 'moved' | 'reverted'; cluster?: string }
  /**
   * Find the digest of a push that did not carry one (Docker Hub, Quay) by reading the tag from the
   * registry, then record the event with it. Until then the push is in no tag's history, so it can
   * never count as an overwrite on a guess.
   */
  | { kind: 'resolve'; incident: Incident; event: RegistryEvent };

export type EffectKind = Effect['kind'];

/**
 * The policy table of DESIGN.md as a pure function. Effects are listed in the order they must run:
 * a revert before the alert that reports it.
 */
export function decide(
  transition: Transition,
  rule: ResolvedRule,
  event: RegistryEvent,
  eventTime: string,
  approvedDigest: Digest | null = null,
): Effect[] {
  const incident = (from: Digest | null, to: Digest | null, restoreTo: Digest | null = null): Incident => ({
    eventId: event.id,
    ref: tagRefOf(event),
    from,
    to,
    restoreTo,
    actor: event.actor,
    eventTime,
    ruleAction: rule.action,
    ruleSource: rule.source,
    owners: rule.owners,
  });

  switch (transition.kind) {
    case 'first-seen':
      return rule.action === 'lock' ? [{ kind: 'lock', incident: incident(null, transition.digest) }] : [];
    case 'overwrite':
      return overwriteEffects(
        rule,
        incident(transition.from, transition.to, approvedDigest ?? transition.from),
      );
    case 'overwritten':
      // Recorded late: the push recorded before it overwrote it. The late one was the tag's first
      // digest, so it is what a revert restores.
      // Who pushed `by` is not known here (only the late event's actor is): say nobody rather than
      // name the wrong person.
      return overwriteEffects(rule, {
        ...incident(transition.digest, transition.by, transition.digest),
        actor: null,
      });
    case 'restored':
      return rule.bump
        ? [{ kind: 'bump', incident: incident(transition.replaced, transition.digest), reason: 'reverted' }]
        : [];
    case 'attempt':
      return transition.grouped
        ? []
        : [
            {
              kind: 'alert',
              incident: {
                ...incident(transition.serving, transition.attempted),
                attempt: {
                  sourceIp: event.origin?.sourceIp ?? null,
                  userAgent: event.origin?.userAgent ?? null,
                  windowMs: rule.attemptWindowMs ?? DEFAULT_ATTEMPT_WINDOW_MS,
                  earlier: transition.closed,
                },
              },
              after: null,
            },
          ];
    case 'digest-deleted':
      // Nothing to undo; a guarded tag's owners hear of it (a tag under `allow` is not guarded).
      return rule.action === 'allow'
        ? []
        : [
            {
              kind: 'alert',
              incident: {
                ...incident(transition.serving, null, transition.approved),
                digestDeleted: transition.digest,
              },
              after: null,
            },
          ];
    case 'unchanged':
    case 'stale':
    case 'duplicate':
    case 'deleted':
      return [];
    default:
      return assertNever(transition);
  }
}

/** What an overwrite of the tag (`it.from` → `it.to`) calls for under the rule, in the order to run. */
function overwriteEffects(rule: ResolvedRule, it: Incident): Effect[] {
  // Moving back to the approved digest (say, by hand while a revert was pending) needs no revert.
  if ((rule.action === 'revert' || rule.action === 'lock') && it.restoreTo === it.to) return [];
  switch (rule.action) {
    case 'allow':
      return rule.bump ? [{ kind: 'bump', incident: it, reason: 'moved' }] : [];
    case 'alert':
      return [{ kind: 'alert', incident: it, after: null }];
    case 'lock':
      // The lock did not hold (or the registry cannot lock): put the old digest back, lock again, tell.
      return [
        { kind: 'revert', incident: it },
        { kind: 'lock', incident: it },
        { kind: 'alert', incident: it, after: 'revert' },
      ];
    case 'revert':
      return [
        { kind: 'revert', incident: it },
        { kind: 'alert', incident: it, after: 'revert' },
      ];
    default:
      return assertNever(rule.action);
  }
}

/** The effect that records a push without a digest once the registry says which digest it was. */
export function resolveEffect(event: RegistryEvent, rule: ResolvedRule, receivedAt: string): Effect {
  return {
    kind: 'resolve',
    event,
    incident: {
      eventId: event.id,
      ref: tagRefOf(event),
      from: null,
      to: null,
      restoreTo: null,
      actor: event.actor,
      eventTime: event.timestamp ?? receivedAt,
      ruleAction: rule.action,
      ruleSource: rule.source,
      owners: rule.owners,
    },
  };
}

/**
 * The event id under which the bump to one cluster endpoint is enqueued (its key is
 * `<eventId>:cluster=<name>#bump`): one outbox row per (event, cluster), so a failing endpoint is
 * retried alone and never re-sends to the others.
 */
export function clusterBumpEventId(eventId: string, cluster: string): string {
  return `${eventId}:cluster=${cluster}`;
}

/** The idempotency key of an effect: one per event and effect kind. */
export function effectKey(eventId: string, kind: EffectKind): string {
  return `${eventId}#${kind}`;
}
