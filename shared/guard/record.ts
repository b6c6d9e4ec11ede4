import { decide, formatTagRef, type Policy, type RegistryEvent, ruleFor } from '../core';
import type { ApplyResult, HistoryStore, Planner } from '../history';

/** The planner every runtime uses: the policy rule for the tag, then decide(). */
export function policyPlanner(policy: Policy): Planner {
  return (transition, event, eventTime, approvedDigest) =>
    decide(transition, ruleFor(policy, event), event, eventTime, approvedDigest);
}

export interface RecordedEvent {
  event: RegistryEvent;
  result: ApplyResult;
}

/** Records normalized events in order, each atomically with its effects (the store may commit them together). */
export async function recordEvents(
  store: HistoryStore,
  policy: Policy,
  events: RegistryEvent[],
  receivedAt: string,
): Promise<RecordedEvent[]> {
  const results = await store.applyAll(events, policyPlanner(policy), receivedAt);
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
