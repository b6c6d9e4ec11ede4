import type { RegistryEvent } from '../core';
import type { ItemOutcome } from './types';

/** A body's items, sorted: the events to record, and the reasons of those ignored and rejected. */
export interface SplitItems {
  events: RegistryEvent[];
  ignored: string[];
  rejected: string[];
}

export function splitItems(items: readonly ItemOutcome[]): SplitItems {
  const split: SplitItems = { events: [], ignored: [], rejected: [] };
  for (const item of items) {
    if (item.kind === 'event') split.events.push(item.event);
    else if (item.kind === 'ignored') split.ignored.push(item.reason);
    else split.rejected.push(item.reason);
  }
  return split;
}
