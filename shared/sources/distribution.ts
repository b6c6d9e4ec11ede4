import { z } from 'zod';
import { digestProblem, normalizeTimestamp, quote, repositoryProblem, tagProblem } from '../core';
import type { ItemOutcome, ParseResult, SourceParser } from './types';
import { isRecord, validatedEvent } from './validate';

/**
 * CNCF distribution (registry:2 / distribution v3) notifications: an envelope
 * `{"events": [...]}` (media type application/vnd.docker.distribution.events.v1+json) whose events are
 * judged each on its own. Only a tagged manifest push and a tag delete are tag events; blob pushes,
 * digest-only manifest pushes, manifest/repository deletes, pulls and mounts are ignored with a reason.
 */

const optionalString = z.string().nullish();

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
  request: z.looseObject({ host: optionalString }).nullish(),
  actor: z.looseObject({ name: optionalString }).nullish(),
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

export const distributionParser: SourceParser = {
  name: 'distribution',
  parse(body: unknown): ParseResult {
    try {
      const envelope = DistributionEnvelope.safeParse(body);
      if (!envelope.success) {
        return {
          ok: false,
          reason: `not a distribution notification envelope: ${issuesReason(envelope.error)} (expected {"events": [...]})`,
        };
      }
      return {
        ok: true,
        items: envelope.data.events.map((item, i) => prefixed(`events[${i}]`, judgeEvent(item))),
      };
    } catch (error) {
      // Defensive: nothing above should throw, but a parser must never take the endpoint down.
      return { ok: false, reason: `distribution body could not be parsed: ${String(error)}` };
    }
  },
};

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
  const problem =
    (digest !== null ? renamed(digestProblem(digest), 'digest', 'target.digest') : null) ??
    renamed(repositoryProblem(repository), 'repository', 'target.repository') ??
    (tag !== null ? renamed(tagProblem(tag), 'tag', 'target.tag') : null);
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
  } else if (tag === null) {
    return digest !== null
      ? ignored('manifest delete without a tag (target.digest only) is not a tag event')
      : ignored('repository delete without a tag is not a tag event');
  }

  const timestamp = normalizeTimestamp(event.timestamp);
  if (timestamp === null) return rejected(`timestamp ${quote(event.timestamp)} is not an RFC 3339 time`);

  const registryHost = nonEmpty(event.request?.host) ?? hostOfUrl(target.url);
  if (registryHost === null)
    return rejected('registry host is missing (no request.host and no host in target.url)');

  return validatedEvent({
    id: event.id,
    action,
    registryHost: registryHost.toLowerCase(),
    repository,
    tag: tag as string,
    // Tag deletes carry no digest on the wire; a push always does.
    digest,
    mediaType,
    timestamp,
    actor: nonEmpty(event.actor?.name),
  });
}

/** `https://user@Host:5000/v2/...` → `Host:5000`; null when there is no authority. */
function hostOfUrl(url: string | null | undefined): string | null {
  if (!url) return null;
  const match = /^[A-Za-z][A-Za-z0-9+.-]*:\/\/([^/?#]*)/.exec(url);
  const authority = match?.[1];
  if (!authority) return null;
  const host = authority.slice(authority.lastIndexOf('@') + 1);
  return host === '' ? null : host;
}

function nonEmpty(value: string | null | undefined): string | null {
  return value === undefined || value === null || value === '' ? null : value;
}

/** Names the wire field in a grammar problem: `digest "…" is not…` → `target.digest "…" is not…`. */
function renamed(problem: string | null, modelName: string, wireName: string): string | null {
  if (problem === null) return null;
  return problem.startsWith(`${modelName} `)
    ? `${wireName}${problem.slice(modelName.length)}`
    : `${wireName}: ${problem}`;
}

function issuesReason(error: z.ZodError): string {
  return error.issues
    .slice(0, 3)
    .map((issue) => {
      const path = issue.path
        .map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`))
        .join('')
        .replace(/^\./, '');
      const where = path === '' ? 'body' : path;
      return issue.code === 'invalid_type' && / received undefined$/.test(issue.message)
        ? `${where} is missing`
        : `${where}: ${issue.message}`;
    })
    .join('; ');
}

function prefixed(prefix: string, outcome: ItemOutcome): ItemOutcome {
  return outcome.kind === 'event' ? outcome : { kind: outcome.kind, reason: `${prefix}: ${outcome.reason}` };
}

function rejected(reason: string): ItemOutcome {
  return { kind: 'rejected', reason };
}

function ignored(reason: string): ItemOutcome {
  return { kind: 'ignored', reason };
}
