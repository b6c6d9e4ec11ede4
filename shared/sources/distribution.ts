import * as z from 'zod/mini';
import { normalizeTimestamp, quote } from '../core';
import '../zod-english';
import {
  hostOf,
  identifierProblem,
  ignored,
  issuesReason,
  nonEmpty,
  optionalString,
  prefixed,
  rejected,
} from './common';
import { BEARER_TOKEN, defineSource } from './source';
import type { ItemOutcome } from './types';
import { digestDeleteOutcome, isRecord, validatedEvent } from './validate';

/**
 * CNCF distribution (registry:2 / distribution v3) notifications: an envelope
 * `{"events": [...]}` (media type application/vnd.docker.distribution.events.v1+json) whose events are
 * judged each on its own. Only a tagged manifest push and a tag delete are tag events; blob pushes,
 * digest-only manifest pushes, repository deletes, pulls and mounts are ignored with a reason. A
 * manifest delete (by digest) is parsed into a DigestDelete and ignored until it can be recorded.
 */

export const DistributionTarget = z.looseObject({
  mediaType: optionalString,
  digest: optionalString,
  repository: optionalString,
  url: optionalString,
  tag: optionalString,
});

export const DistributionEvent = z.looseObject({
  id: z.string(),
  timestamp: z.string(),
  action: z.string(),
  target: DistributionTarget,
  request: z.nullish(z.looseObject({ host: optionalString })),
  actor: z.nullish(z.looseObject({ name: optionalString })),
});

/** The envelope only: each event is checked against DistributionEvent on its own. */
export const DistributionEnvelope = z.looseObject({ events: z.array(z.unknown()) });

/** Manifest media types a tag can point at; anything else pushed is a blob (layer, config). */
const MANIFEST_MEDIA_TYPES: ReadonlySet<string> = new Set([
  'application/vnd.docker.distribution.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.v1+prettyjws',
  'application/vnd.docker.distribution.manifest.v2+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.oci.artifact.manifest.v1+json',
]);

const IGNORED_ACTIONS: Readonly<Record<string, string>> = {
  pull: 'a pull does not change a tag',
  mount: 'a blob mount does not change a tag',
};

export const distributionParser = defineSource({
  name: 'distribution',
  format: 'distribution',
  auth: BEARER_TOKEN,
  envelope: {
    schema: DistributionEnvelope,
    what: 'distribution notification envelope',
    expected: '{"events": [...]}',
  },
  items: (envelope) => envelope.events.map((item, i) => prefixed(`events[${i}]`, judgeEvent(item))),
});

function judgeEvent(item: unknown): ItemOutcome {
  if (!isRecord(item)) return rejected('is not an object');
  const action = item.action;
  if (action === undefined) return rejected('action is missing');
  if (typeof action !== 'string') return rejected('action is not a string');
  if (action !== 'push' && action !== 'delete') {
    return ignored(`action ${quote(action)} ignored: ${IGNORED_ACTIONS[action] ?? 'not a push or delete'}`);
  }

  const parsed = DistributionEvent.safeParse(item);
  if (!parsed.success) return rejected(issuesReason(parsed.error));
  const event = parsed.data;
  const target = event.target;
  const tag = nonEmpty(target.tag);
  const digest = nonEmpty(target.digest);
  const mediaType = nonEmpty(target.mediaType);
  const repository = target.repository ?? '';

  // Malformed identifiers are rejected even where the item would otherwise be ignored: a sender
  // that gets digests wrong should be seen, not silently dropped.
  const problem = identifierProblem(
    { digest, repository, tag },
    { digest: 'target.digest', repository: 'target.repository', tag: 'target.tag' },
  );
  if (problem) return rejected(problem);

  if (action === 'push') {
    const isBlob =
      (target.url ?? '').includes('/blobs/') || (mediaType !== null && !MANIFEST_MEDIA_TYPES.has(mediaType));
    if (tag === null) {
      return isBlob
        ? ignored(`blob/layer push${mediaType ? ` (${quote(mediaType)})` : ''} is not a tag event`)
        : ignored('digest-only manifest push (no target.tag) is not a tag event');
    }
    if (isBlob) {
      return ignored(`push of non-manifest media type ${quote(mediaType ?? '')} is not a tag event`);
    }
    if (digest === null) return rejected('target.digest is missing on a manifest push');
  } else if (tag === null && digest === null) {
    return ignored('repository delete without a tag is not a tag event');
  }

  const timestamp = normalizeTimestamp(event.timestamp);
  if (timestamp === null) return rejected(`timestamp ${quote(event.timestamp)} is not an RFC 3339 time`);

  const registryHost = nonEmpty(event.request?.host) ?? hostOf(target.url, 'url');
  if (registryHost === null)
    return rejected('registry host is missing (no request.host and no host in target.url)');

  const common = {
    id: event.id,
    registryHost: registryHost.toLowerCase(),
    repository,
    timestamp,
    actor: nonEmpty(event.actor?.name),
  };
  // A manifest delete names the digest only: every tag serving it is gone.
  if (tag === null) return digestDeleteOutcome({ ...common, digest: digest as string });
  // Tag deletes carry no digest on the wire; a push always does.
  return validatedEvent({ ...common, action, tag, digest, mediaType });
}
