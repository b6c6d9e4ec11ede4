import * as z from 'zod/mini';
import { fromUnixSeconds, normalizeTimestamp, quote } from '../core';
import '../zod-english';
import {
  contentId,
  hostOf,
  identifierProblem,
  ignored,
  issuesReason,
  nonEmpty,
  optionalString,
  prefixed,
  rejected,
} from './common';
import { BEARER_TOKEN, defineSource, envelopeOf, notThisSource } from './source';
import type { ItemOutcome } from './types';
import { isRecord, validatedEvent } from './validate';

/**
 * Harbor webhooks, in both payload formats a webhook policy can choose:
 * - Default: `{type: "PUSH_ARTIFACT", occur_at: <unix s>, operator, event_data: {resources, repository}}`
 *   (Harbor 1.x sends the same shape with `type: "pushImage"` / `"deleteImage"`);
 * - CloudEvents: `{specversion, id, type: "harbor.artifact.pushed", time, data: {resources, repository},
 *   operator}` — Harbor sets `operator` as a CloudEvents extension attribute at the top level, not in
 *   `data` (src/pkg/notifier/formats/cloudevents.go); `data.operator` is read as a fallback.
 * One event per `resources[]` entry. Harbor puts the digest into `tag` for an untagged artifact: such
 * a resource is a digest-only push and is ignored. Pulls, scans, quota, replication, retention and
 * chart events are ignored with a reason.
 */

export const HarborResource = z.looseObject({
  digest: optionalString,
  tag: optionalString,
  resource_url: optionalString,
});

const HarborEventData = z.looseObject({
  resources: z.array(z.unknown()),
  repository: z.looseObject({ repo_full_name: z.string() }),
});

export const HarborDefaultEvent = z.looseObject({
  type: z.string(),
  occur_at: z.number(),
  operator: optionalString,
  event_data: HarborEventData,
});

export const HarborCloudEvent = z.looseObject({
  specversion: z.string(),
  id: z.string(),
  type: z.string(),
  time: z.string(),
  operator: optionalString,
  data: z.extend(HarborEventData, { operator: optionalString }),
});

const ACTIONS: ReadonlyMap<string, 'push' | 'delete'> = new Map([
  ['PUSH_ARTIFACT', 'push'],
  ['harbor.artifact.pushed', 'push'],
  ['DELETE_ARTIFACT', 'delete'],
  ['harbor.artifact.deleted', 'delete'],
  // Harbor 1.x names its image events this way; the body has the same Default `event_data` shape.
  ['pushImage', 'push'],
  ['deleteImage', 'delete'],
]);

const IGNORED_TYPES: ReadonlyMap<string, string> = new Map([
  ['PULL_ARTIFACT', 'a pull does not change a tag'],
  ['harbor.artifact.pulled', 'a pull does not change a tag'],
  ['SCANNING_COMPLETED', 'scan results are not tag events'],
  ['SCANNING_FAILED', 'scan results are not tag events'],
  ['SCANNING_STOPPED', 'scan results are not tag events'],
  ['harbor.scan.completed', 'scan results are not tag events'],
  ['harbor.scan.failed', 'scan results are not tag events'],
  ['harbor.scan.stopped', 'scan results are not tag events'],
  ['QUOTA_EXCEED', 'quota notices are not tag events'],
  ['QUOTA_WARNING', 'quota notices are not tag events'],
  ['harbor.quota.exceeded', 'quota notices are not tag events'],
  ['harbor.quota.warned', 'quota notices are not tag events'],
  ['REPLICATION', 'replication status is not a tag event'],
  ['harbor.replication.status.changed', 'replication status is not a tag event'],
  ['TAG_RETENTION', 'a retention run report is not a tag event'],
  ['harbor.tag_retention.finished', 'a retention run report is not a tag event'],
  ['UPLOAD_CHART', 'Helm chart events are not tracked'],
  ['DOWNLOAD_CHART', 'Helm chart events are not tracked'],
  ['DELETE_CHART', 'Helm chart events are not tracked'],
  ['pullImage', 'a pull does not change a tag'],
  ['scanningCompleted', 'scan results are not tag events'],
  ['scanningFailed', 'scan results are not tag events'],
  ['uploadChart', 'Helm chart events are not tracked'],
  ['downloadChart', 'Helm chart events are not tracked'],
  ['deleteChart', 'Helm chart events are not tracked'],
]);

/** An OCI digest's shape (`algorithm:encoded`), which no tag can have: Harbor's untagged-artifact marker. */
const DIGEST_SHAPED = /^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/;

export const harborParser = defineSource({
  name: 'harbor',
  format: 'Harbor',
  auth: BEARER_TOKEN,
  envelope(body) {
    if (!isRecord(body)) return notThisSource('not a Harbor webhook: body is not an object');
    const type = body.type;
    if (typeof type !== 'string')
      return notThisSource('not a Harbor webhook: type is missing or not a string');
    const cloudEvents = body.specversion !== undefined;
    if (!cloudEvents && !('event_data' in body)) {
      return notThisSource(
        'not a Harbor webhook: neither event_data (Default format) nor specversion (CloudEvents format)',
      );
    }
    return envelopeOf({ body, type, cloudEvents });
  },
  items({ body, type, cloudEvents }) {
    const action = ACTIONS.get(type);
    if (action === undefined) {
      return [
        ignored(
          `type ${quote(type)} ignored: ${IGNORED_TYPES.get(type) ?? 'not an artifact push or delete'}`,
        ),
      ];
    }
    return cloudEvents ? judgeCloudEvent(body, action) : judgeDefault(body, action);
  },
});

interface Envelope {
  action: 'push' | 'delete';
  /** `event_data` or `data`, for the reasons. */
  dataField: string;
  resources: unknown[];
  repository: string;
  timestamp: string;
  actor: string | null;
  /** The id of resource i. */
  idOf: (i: number, tag: string, digest: string | null) => string;
}

function judgeDefault(body: Record<string, unknown>, action: 'push' | 'delete'): ItemOutcome[] {
  const parsed = HarborDefaultEvent.safeParse(body);
  if (!parsed.success) return [rejected(issuesReason(parsed.error))];
  const event = parsed.data;
  const timestamp = fromUnixSeconds(event.occur_at);
  if (timestamp === null) return [rejected(`occur_at ${event.occur_at} is not a unix time in seconds`)];
  const repository = event.event_data.repository.repo_full_name;
  return judgeResources({
    action,
    dataField: 'event_data',
    resources: event.event_data.resources,
    repository,
    timestamp,
    actor: nonEmpty(event.operator),
    // Harbor's Default format carries no event id: derive one from what the event says.
    idOf: (_i, tag, digest) => contentId('harbor', [event.type, event.occur_at, repository, tag, digest]),
  });
}

function judgeCloudEvent(body: Record<string, unknown>, action: 'push' | 'delete'): ItemOutcome[] {
  const parsed = HarborCloudEvent.safeParse(body);
  if (!parsed.success) return [rejected(issuesReason(parsed.error))];
  const event = parsed.data;
  const timestamp = normalizeTimestamp(event.time);
  if (timestamp === null) return [rejected(`time ${quote(event.time)} is not an RFC 3339 time`)];
  const several = event.data.resources.length > 1;
  return judgeResources({
    action,
    dataField: 'data',
    resources: event.data.resources,
    repository: event.data.repository.repo_full_name,
    timestamp,
    actor: nonEmpty(event.operator) ?? nonEmpty(event.data.operator),
    // One CloudEvent per request; several resources get the index so each tag's event id is unique.
    idOf: (i) => (several ? `${event.id}#${i}` : event.id),
  });
}

function judgeResources(envelope: Envelope): ItemOutcome[] {
  const field = `${envelope.dataField}.resources`;
  if (envelope.resources.length === 0) return [ignored(`${field} is empty: no artifact named`)];
  return envelope.resources.map((resource, i) =>
    prefixed(`${field}[${i}]`, judgeResource(envelope, resource, i)),
  );
}

function judgeResource(envelope: Envelope, item: unknown, i: number): ItemOutcome {
  if (!isRecord(item)) return rejected('is not an object');
  const parsed = HarborResource.safeParse(item);
  if (!parsed.success) return rejected(issuesReason(parsed.error));
  const resource = parsed.data;
  const rawTag = nonEmpty(resource.tag);
  const digest = nonEmpty(resource.digest);
  const repository = envelope.repository;
  const untagged = rawTag === null || DIGEST_SHAPED.test(rawTag);
  const tag = untagged ? null : rawTag;

  // Malformed identifiers are rejected even where the item would otherwise be ignored.
  const problem = identifierProblem(
    { digest, repository, tag },
    { digest: 'digest', repository: `${envelope.dataField}.repository.repo_full_name`, tag: 'tag' },
  );
  if (problem) return rejected(problem);

  if (tag === null) {
    const what = envelope.action === 'push' ? 'untagged artifact push' : 'delete of an untagged artifact';
    return ignored(
      rawTag === null
        ? `${what} (no tag) is not a tag event`
        : `${what} (tag holds the digest ${quote(rawTag)}) is not a tag event`,
    );
  }
  if (digest === null && envelope.action === 'push') return rejected('digest is missing on a push');

  const registryHost = hostOf(resource.resource_url, 'reference');
  if (registryHost === null) {
    return rejected(
      resource.resource_url
        ? `resource_url ${quote(resource.resource_url)} names no registry host`
        : 'resource_url is missing (the registry host comes from it)',
    );
  }

  return validatedEvent({
    id: envelope.idOf(i, tag, digest),
    action: envelope.action,
    registryHost,
    repository,
    tag,
    digest,
    mediaType: null,
    timestamp: envelope.timestamp,
    actor: envelope.actor,
  });
}
