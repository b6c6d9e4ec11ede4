import { formatTagRef, type Policy, type RegistryEvent, resolveEffect, ruleFor } from '../core';
import type { ApplyResult, Outbox, TagHistory } from '../history';
import type { Logger } from '../log';
import { perDelivery } from '../sources/common';
import { digestDeleteEvents } from '../sources/delivery';
import type { DigestDelete } from '../sources/types';

export interface RecordedEvent {
  event: RegistryEvent;
  result: ApplyResult;
}

/** Records normalized events in order, each atomically with its effects (the store may commit them together). */
export async function recordEvents(
  store: Pick<TagHistory, 'applyAll'>,
  policy: Policy,
  events: RegistryEvent[],
  receivedAt: string,
): Promise<RecordedEvent[]> {
  const results = await store.applyAll(events, policy, receivedAt);
  return events.map((event, i) => ({ event, result: results[i]! }));
}

export function logFieldsOf(event: RegistryEvent) {
  return {
    eventId: event.id,
    tagRef: formatTagRef(event),
    registryHost: event.registryHost,
    repository: event.repository,
    tag: event.tag,
    digest: event.digest,
  };
}

export interface AcceptedEvents {
  recorded: RecordedEvent[];
  /** Pushes without a digest, queued until the registry says which digest the tag serves. */
  resolving: RegistryEvent[];
}

/**
 * What every runtime does with normalized events: record those with a digest (atomically with their
 * effects) and queue a digest lookup for pushes without one. The bodies of digestless sources may
 * not tell two pushes apart (Quay sends the same body for every push of a tag), so each delivery is
 * resolved on its own and recorded as `<id>@<digest>`: a redelivery collapses there, a new push not.
 */
export async function acceptEvents(
  deps: { store: Pick<TagHistory, 'applyAll'> & Pick<Outbox, 'enqueueEffects'>; policy: Policy; log: Logger },
  delivered: RegistryEvent[],
  receivedAt: string,
): Promise<AcceptedEvents> {
  const events = delivered.map((event) => perDelivery(event, receivedAt));
  const resolving = events.filter((e) => e.action === 'push' && e.digest === null);
  for (const event of resolving) {
    const effect = resolveEffect(event, ruleFor(deps.policy, event), receivedAt);
    await deps.store.enqueueEffects(`${event.id}@${receivedAt}`, [effect], receivedAt);
    deps.log.info('event waits for its digest', logFieldsOf(event));
  }
  const complete = events.filter((e) => !(e.action === 'push' && e.digest === null));
  const recorded = await recordEvents(deps.store, deps.policy, complete, receivedAt);
  logRecorded(deps.log, recorded);
  return { recorded, resolving };
}

function logRecorded(log: Logger, recorded: readonly RecordedEvent[]): void {
  for (const { event, result } of recorded) {
    log.info('event recorded', {
      ...logFieldsOf(event),
      transition: result.transition.kind,
      effects: result.effects.map((e) => e.kind),
    });
  }
}

/**
 * Records each manifest deleted by digest against the tags history says serve the digest or would
 * be reverted to it: one `byDigest` delete per tag, recorded like any event (the row is
 * `digest-deleted`; a guarded tag's owners are alerted). A lookup that fails fails the delivery, so
 * it is retried (what was recorded before collapses as duplicates).
 */
export async function recordDigestDeletes(
  deps: { store: Pick<TagHistory, 'applyAll' | 'tagsServing'>; policy: Policy; log: Logger },
  deletes: readonly DigestDelete[],
  receivedAt: string,
): Promise<RecordedEvent[]> {
  const events: RegistryEvent[] = [];
  for (const deleted of deletes) {
    const fields = {
      eventId: deleted.id,
      registryHost: deleted.registryHost,
      repository: deleted.repository,
      digest: deleted.digest,
    };
    const tags = await deps.store.tagsServing(deleted.registryHost, deleted.repository, deleted.digest);
    if (tags.length === 0) deps.log.info('manifest deleted by digest; no tag in history serves it', fields);
    events.push(...digestDeleteEvents(deleted, tags));
  }
  const recorded = await recordEvents(deps.store, deps.policy, events, receivedAt);
  logRecorded(deps.log, recorded);
  return recorded;
}
