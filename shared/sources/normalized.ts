import { normalizeTimestamp, type RegistryEvent } from '../core';
import { isRecord, validatedEvent } from './validate';

const STRING_OR_NULL = ['digest', 'mediaType', 'timestamp', 'actor'] as const;

/** Reads one line of `tagwarden normalize` output back (for `replay`), validating it as strictly as a source. */
export function parseNormalizedEvent(
  value: unknown,
  options: { allowMissingDigest?: boolean } = {},
): { event: RegistryEvent } | { problem: string } {
  if (!isRecord(value))
    return { problem: 'expected a JSON object with the fields tagwarden normalize prints' };
  for (const field of ['id', 'registryHost', 'repository', 'tag'] as const) {
    if (typeof value[field] !== 'string') return { problem: `${field} must be a string` };
  }
  if (value.action !== 'push' && value.action !== 'delete')
    return { problem: 'action must be "push" or "delete"' };
  for (const field of STRING_OR_NULL) {
    if (value[field] !== undefined && value[field] !== null && typeof value[field] !== 'string')
      return { problem: `${field} must be a string or null` };
  }
  let timestamp: string | null = null;
  if (typeof value.timestamp === 'string') {
    timestamp = normalizeTimestamp(value.timestamp);
    if (timestamp === null)
      return { problem: `timestamp ${JSON.stringify(value.timestamp)} is not an RFC 3339 time` };
  }
  const event: RegistryEvent = {
    id: value.id as string,
    action: value.action,
    registryHost: value.registryHost as string,
    repository: value.repository as string,
    tag: value.tag as string,
    digest: (value.digest as string | null | undefined) ?? null,
    mediaType: (value.mediaType as string | null | undefined) ?? null,
    timestamp,
    actor: (value.actor as string | null | undefined) ?? null,
  };
  // Replay needs digests; the AWS queue also carries Docker Hub and Quay pushes still to be resolved.
  if (event.action === 'push' && event.digest === null && !options.allowMissingDigest) {
    return { problem: 'a push needs a digest' };
  }
  const outcome = validatedEvent(event);
  return outcome.kind === 'event'
    ? { event: outcome.event }
    : { problem: outcome.kind === 'rejected' ? outcome.reason : 'ignored' };
}

/** The field order `tagwarden normalize` prints, whatever order a parser built the object in. */
export function orderedEvent(event: RegistryEvent): RegistryEvent {
  const { id, action, registryHost, repository, tag, digest, mediaType, timestamp, actor } = event;
  return { id, action, registryHost, repository, tag, digest, mediaType, timestamp, actor };
}
