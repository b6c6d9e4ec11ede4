import { formatTagRef, type RegistryEvent } from '../core';
import { namespacedEvent } from './id-namespace';
import { parseJsonBody } from './json-body';
import { hostRefusal } from './registry-hosts';
import type { ItemOutcome, SourceParser } from './types';

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

/** What one delivery's body says, or why it says nothing usable. */
export type Delivery =
  | (SplitItems & {
      ok: true;
      /** A handshake (Event Grid subscription validation): the body the source expects back. */
      handshake: Record<string, unknown> | null;
    })
  | { ok: false; reason: string };

export interface DeliveryContext {
  /** Header values as parsers see them: one string each, names lower-cased. */
  headers: Record<string, string | undefined>;
  /** The registry hosts the source is bound to (`sources.<name>.registries`); unset: see `hostRefusal`. */
  registries?: readonly string[] | undefined;
}

/**
 * One delivery's body as the rest of Tagwarden sees it, in one place: bounded JSON, parsed by its
 * source, items sorted into events, ignored and rejected; an event for a registry host the source
 * may not report is rejected; every event's id is put in the source's namespace.
 */
export function readDelivery(parser: SourceParser, body: Buffer, context: DeliveryContext): Delivery {
  const json = parseJsonBody(body.toString('utf8'));
  if (!json.ok) return json;
  const parsed = parser.parse(json.value, { headers: context.headers });
  if (!parsed.ok) return parsed;
  const split = splitItems(parsed.items);
  const events: RegistryEvent[] = [];
  for (const event of split.events) {
    const refusal = hostRefusal(parser.name, event.registryHost, context.registries);
    if (refusal === null) events.push(namespacedEvent(parser.name, event));
    else split.rejected.push(`${formatTagRef(event).slice(0, 200)}: ${refusal}`);
  }
  const handshake = parsed.reply ? (parsed.reply.body as Record<string, unknown>) : null;
  return { ok: true, events, ignored: split.ignored, rejected: split.rejected, handshake };
}
