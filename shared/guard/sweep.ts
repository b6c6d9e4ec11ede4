import { createHash } from 'node:crypto';
import type { Digest, Policy, RegistryEvent } from '../core';
import type { Outbox, TagHistory } from '../history';
import type { Logger } from '../log';
import { acceptEvents, type RecordedEvent } from './record';

/** A tag as the registry serves it now. */
export interface ObservedTag {
  tag: string;
  digest: Digest;
  mediaType: string | null;
}

export interface SweepReport {
  checked: number;
  /** Tags history already knows as served (for a baseline: tags it knows at all). */
  unchanged: number;
  recorded: RecordedEvent[];
}

/**
 * Catches what events missed: every tag the registry serves whose digest differs from history is
 * fed through the same path as an event (observed now, so it is never stale), and the policy acts
 * on it as on any push. With `baseline`, only tags history has never seen are recorded, to seed a
 * fresh install so that the first overwrite after it is detected.
 */
export async function reconcile(
  deps: { store: TagHistory & Pick<Outbox, 'enqueueEffects'>; policy: Policy; log: Logger },
  target: { registryHost: string; repository: string },
  observed: Iterable<ObservedTag>,
  now: string,
  options: { baseline?: boolean; onProgress?: (checked: number) => void } = {},
): Promise<SweepReport> {
  const events: RegistryEvent[] = [];
  let checked = 0;
  let unchanged = 0;
  for (const { tag, digest, mediaType } of observed) {
    checked += 1;
    options.onProgress?.(checked);
    const state = await deps.store.tagState({ ...target, tag });
    if (state?.digest === digest || (options.baseline && state)) {
      unchanged += 1;
      continue;
    }
    events.push({
      // The same difference observed twice is one event (a duplicate the second time).
      id: `sweep:${createHash('sha256').update(`${target.registryHost}/${target.repository}:${tag}@${digest}`).digest('hex').slice(0, 32)}`,
      action: 'push',
      registryHost: target.registryHost,
      repository: target.repository,
      tag,
      digest,
      mediaType,
      timestamp: null,
      actor: null,
    });
  }
  const { recorded } = await acceptEvents(deps, events, now);
  // A baseline seeds history: what it records is expected, not a difference events missed.
  for (const { event, result } of options.baseline ? [] : recorded) {
    deps.log.warn('sweep found a difference events missed', {
      tagRef: `${event.registryHost}/${event.repository}:${event.tag}`,
      digest: event.digest,
      transition: result.transition.kind,
    });
  }
  return { checked, unchanged, recorded };
}
