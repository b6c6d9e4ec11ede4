import { formatTagRef, type RegistryEvent, type TagRef } from '../core';
import { fnv1a64Hex } from './common';
import { namespacedEvent } from './id-namespace';
import { parseJsonBody } from './json-body';
import { hostRefusal } from './registry-hosts';
import type { DigestDelete, ItemOutcome, SourceParser } from './types';

/**
 * A body's items, sorted: the events to record, and the reasons of those ignored and rejected. A
 * manifest delete by digest is ignored as a tag event (its reason is listed) and kept in
 * `digestDeletes`, to be recorded against the tags history says serve the digest.
 */
export interface SplitItems {
  events: RegistryEvent[];
  ignored: string[];
  rejected: string[];
  digestDeletes: DigestDelete[];
}

export function splitItems(items: readonly ItemOutcome[]): SplitItems {
  const split: SplitItems = { events: [], ignored: [], rejected: [], digestDeletes: [] };
  for (const item of items) {
    if (item.kind === 'event') split.events.push(item.event);
    else if (item.kind === 'ignored') {
      split.ignored.push(item.reason);
      if (item.digestDelete) split.digestDeletes.push(item.digestDelete);
    } else split.rejected.push(item.reason);
  }
  return split;
}

/** The longest recorded event id (the core's grammar). */
const MAX_ID_LENGTH = 256;

/**
 * A manifest delete by digest as one delete event per tag it is recorded against (`byDigest`), each
 * with its own id `<delete id>@<tag>` (hashed when too long), so a redelivery collapses per tag.
 */
export function digestDeleteEvents(deleted: DigestDelete, tags: readonly TagRef[]): RegistryEvent[] {
  return tags.map((ref) => {
    const id = `${deleted.id}@${ref.tag}`;
    return {
      id: id.length > MAX_ID_LENGTH ? `${deleted.id.slice(0, 200)}@~${fnv1a64Hex(id)}` : id,
      action: 'delete',
      registryHost: ref.registryHost,
      repository: ref.repository,
      tag: ref.tag,
      digest: deleted.digest,
      mediaType: null,
      timestamp: deleted.timestamp,
      actor: deleted.actor,
      byDigest: true,
    };
  });
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
  const allowed = <T extends { registryHost: string; id: string }>(item: T, name: string): T | null => {
    const refusal = hostRefusal(parser.name, item.registryHost, context.registries);
    if (refusal === null) return namespacedEvent(parser.name, item);
    split.rejected.push(`${name.slice(0, 200)}: ${refusal}`);
    return null;
  };
  const events = split.events.flatMap((e) => allowed(e, formatTagRef(e)) ?? []);
  const digestDeletes = split.digestDeletes.flatMap(
    (d) => allowed(d, `${d.registryHost}/${d.repository}@${d.digest}`) ?? [],
  );
  const handshake = parsed.reply ? (parsed.reply.body as Record<string, unknown>) : null;
  return { ok: true, events, ignored: split.ignored, rejected: split.rejected, digestDeletes, handshake };
}
