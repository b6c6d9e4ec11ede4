import type { Alert } from './alert';
import type { Incident } from './decide';
import { formatTagRef, type RegistryEvent } from './model';
import { compareEventTimes } from './time';
import type { TagState, TransitionResult } from './transition';

/**
 * A manifest deleted by digest, applied to one tag history named for it (it served the digest, or
 * the digest is what a revert of it would restore). A tag that served it serves nothing now and
 * keeps it as its last digest, so a later push of another digest is still an overwrite. A tag that
 * only had it approved does not move: the row records that its revert has nothing to restore. A
 * delete older than the tag's newest event, of a digest it serves, is stale (pushed again since);
 * a tag that neither serves nor approved the digest (it moved since the lookup) is stale too.
 */
export function digestDeletedOn(
  prev: TagState | null,
  event: RegistryEvent,
  eventTime: string,
): TransitionResult {
  const digest = event.digest!;
  const previousDigest = prev ? (prev.digest ?? prev.lastDigest) : null;
  const served = prev?.digest === digest;
  const approved = prev?.approvedDigest === digest;
  const pushedSince = served && compareEventTimes(eventTime, prev!.eventTime) < 0;
  if (!prev || (!served && !approved) || pushedSince) {
    return {
      transition: { kind: 'stale', digest, current: prev?.digest ?? null },
      next: null,
      previousDigest,
      eventTime,
    };
  }
  const transition = {
    kind: 'digest-deleted' as const,
    digest,
    serving: prev.digest,
    approved: prev.approvedDigest,
  };
  if (!served) return { transition, next: null, previousDigest, eventTime };
  return {
    transition,
    next: {
      ...prev,
      digest: null,
      lastDigest: digest,
      eventTime,
      eventId: event.id,
      version: prev.version + 1,
    },
    previousDigest,
    eventTime,
  };
}

/**
 * The alert on a manifest deleted under a guarded tag: nothing Tagwarden can undo, and critical when
 * the deleted image is the one a revert of the tag would restore.
 */
export function digestDeletedAlert(incident: Incident, digest: string): Alert {
  const ref = formatTagRef(incident.ref);
  const served = incident.from === digest;
  const approvedGone = incident.restoreTo === digest;
  const notes = [`Deleted by: ${incident.actor ?? 'unknown identity'}.`];
  if (approvedGone) {
    notes.push(
      `The image a revert would restore is gone: ${digest} was this tag's approved digest, so a revert has nothing to put back until it is pushed again.`,
    );
  }
  if (!served) notes.push(`The tag still serves ${incident.from ?? 'nothing'}.`);
  return {
    incident,
    title: 'Image deleted from the registry',
    actionTaken: served
      ? `nothing to undo: the manifest ${digest} was deleted by digest, so ${ref} serves nothing now`
      : `nothing to undo: the manifest ${digest} was deleted by digest`,
    severity: approvedGone ? 'critical' : 'warning',
    notes,
  };
}
