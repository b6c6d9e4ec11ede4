import { type AttemptOrigin, normalizeTimestamp, type RegistryEvent } from '../core';
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
  if (value.action !== 'push' && value.action !== 'delete' && value.action !== 'attempt')
    return { problem: 'action must be "push", "delete" or "attempt"' };
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
  if (value.origin !== undefined) {
    const origin = originOf(value.origin);
    if ('problem' in origin) return origin;
    event.origin = origin;
  }
  // Replay needs digests; the AWS queue also carries Docker Hub and Quay pushes still to be resolved.
  if (event.action === 'push' && event.digest === null && !options.allowMissingDigest) {
    return { problem: 'a push needs a digest' };
  }
  const outcome = validatedEvent(event);
  return outcome.kind === 'event'
    ? { event: outcome.event }
    : { problem: outcome.kind === 'rejected' ? outcome.reason : 'ignored' };
}

/** An attempt's `origin` as `normalize` prints it: `{ sourceIp, userAgent }`, each a string or null. */
function originOf(value: unknown): AttemptOrigin | { problem: string } {
  if (!isRecord(value)) return { problem: 'origin must be an object with sourceIp and userAgent' };
  const text = (field: string) => value[field] ?? null;
  const sourceIp = text('sourceIp');
  const userAgent = text('userAgent');
  if (
    (sourceIp !== null && typeof sourceIp !== 'string') ||
    (userAgent !== null && typeof userAgent !== 'string')
  )
    return { problem: 'origin.sourceIp and origin.userAgent must be strings or null' };
  return { sourceIp, userAgent };
}

/** The field order `tagwarden normalize` prints, whatever order a parser built the object in. */
export function orderedEvent(event: RegistryEvent): RegistryEvent {
  const { id, action, registryHost, repository, tag, digest, mediaType, timestamp, actor, origin } = event;
  const ordered = { id, action, registryHost, repository, tag, digest, mediaType, timestamp, actor };
  return origin === undefined ? ordered : { ...ordered, origin };
}
