import { fnv1a64Hex } from './common';

/** Sources that report the same delivery with the same id: a push both report is recorded once. */
const SHARED_NAMESPACES: ReadonlyMap<string, string> = new Map([['acr-eventgrid', 'acr']]);

/** The recorded event id's limit (the core's grammar); a longer namespaced id is shortened. */
const MAX_ID_LENGTH = 256;

/**
 * The namespace of a source's event ids: the source's name, except that the ACR webhook and ACR
 * through Event Grid share `acr` (Event Grid carries the webhook's event id).
 */
export function idNamespace(source: string): string {
  return SHARED_NAMESPACES.get(source) ?? source;
}

/**
 * An event with its id in its source's namespace, `<namespace>:<id>`, so that no source can
 * pre-claim another's id. An id that already carries the namespace (a content-derived id, an event
 * the webhook function queued) is kept. A namespaced id over the length limit becomes
 * `<namespace>:~<fnv1a64 hex of the id>`: still the source's own, still valid.
 */
export function namespacedEvent<E extends { id: string }>(source: string, event: E): E {
  const prefix = `${idNamespace(source)}:`;
  if (event.id.startsWith(prefix)) return event;
  const id = prefix.length + event.id.length > MAX_ID_LENGTH ? `~${fnv1a64Hex(event.id)}` : event.id;
  return { ...event, id: `${prefix}${id}` };
}
