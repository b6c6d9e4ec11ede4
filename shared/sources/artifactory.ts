import * as z from 'zod/mini';
import { quote } from '../core';
import '../zod-english';
import {
  contentId,
  hostOf,
  identifierProblem,
  ignored,
  issuesReason,
  nonEmpty,
  optionalString,
  rejected,
} from './common';
import { defineSource } from './source';
import type { ItemOutcome } from './types';
import { isRecord, validatedEvent } from './validate';

/**
 * JFrog Platform (Artifactory) webhooks, domain `docker`: one event per request, `{domain: "docker",
 * event_type: "pushed"|"deleted"|"promoted", data: {repo_key, path, name, sha256, size, image_name, tag,
 * platforms?}, subscription_key, jpd_origin, source}`. The repository is `<repo_key>/<image_name>` (the
 * path a docker client uses below the platform host), the digest `sha256:<data.sha256>`. JFrog sends no
 * event id and no time: the id is derived from the content, the time of receipt counts. A promotion is
 * ignored (a promotion that copies reports a push in the target repository); other domains are ignored.
 */

export const ArtifactoryDockerData = z.looseObject({
  repo_key: z.string(),
  image_name: z.string(),
  tag: optionalString,
  sha256: optionalString,
});

const DataWrapper = z.object({ data: ArtifactoryDockerData });

export const ArtifactoryEnvelope = z.looseObject({
  domain: z.string(),
  event_type: z.string(),
  data: z.unknown(),
  jpd_origin: optionalString,
  source: optionalString,
});

const ACTIONS: ReadonlyMap<string, 'push' | 'delete'> = new Map([
  ['pushed', 'push'],
  ['deleted', 'delete'],
]);

const IGNORED_EVENT_TYPES: Readonly<Record<string, string>> = {
  promoted:
    'a promotion is not tracked here; a promotion that copies the tag reports a push in the target repository',
};

export const artifactoryParser = defineSource({
  name: 'artifactory',
  format: 'JFrog',
  // JFrog sends its secret token as is in X-JFrog-Event-Auth, or its body signature there.
  auth: {
    token: { in: 'header', header: 'X-JFrog-Event-Auth' },
    signature: { header: 'x-jfrog-event-auth', prefix: '' },
  },
  envelope: {
    schema: ArtifactoryEnvelope,
    what: 'JFrog webhook event',
    expected: '{"domain", "event_type", "data": {...}, "jpd_origin", "source"}',
  },
  items: (event) =>
    event.domain === 'docker'
      ? [judgeEvent(event)]
      : [ignored(`domain ${quote(event.domain)} ignored: only "docker" domain events are tag events`)],
});

function judgeEvent(event: z.infer<typeof ArtifactoryEnvelope>): ItemOutcome {
  const action = ACTIONS.get(event.event_type);
  if (action === undefined) {
    return ignored(
      `event_type ${quote(event.event_type)} ignored: ${IGNORED_EVENT_TYPES[event.event_type] ?? 'not pushed or deleted'}`,
    );
  }
  if (!isRecord(event.data)) return rejected('data is missing or not an object');
  // Parsed inside a `data` wrapper so that the reasons name the wire path: `data.repo_key is missing`.
  const parsed = DataWrapper.safeParse({ data: event.data });
  if (!parsed.success) return rejected(issuesReason(parsed.error));
  const data = parsed.data.data;
  const sha256 = nonEmpty(data.sha256);
  const digest = sha256 === null ? null : `sha256:${sha256}`;
  const repository = `${data.repo_key}/${data.image_name}`.toLowerCase();
  const tag = nonEmpty(data.tag);

  // Malformed identifiers are rejected even where the item would otherwise be ignored.
  const problem = identifierProblem(
    { digest, repository, tag },
    { digest: 'data.sha256', repository: 'data.repo_key/data.image_name', tag: 'data.tag' },
  );
  if (problem) return rejected(problem);
  if (tag === null) return ignored(`${event.event_type} event without data.tag is not a tag event`);
  if (digest === null && action === 'push') return rejected('data.sha256 is missing on a push');

  const origin = nonEmpty(event.jpd_origin);
  if (origin === null) return rejected('jpd_origin is missing: it names the registry host');
  const registryHost = hostOf(origin, 'origin');
  if (registryHost === null) return rejected(`jpd_origin ${quote(origin)} names no host`);

  return validatedEvent({
    id: contentId('artifactory', [event.event_type, origin, data.repo_key, data.image_name, tag, sha256]),
    action,
    registryHost,
    repository,
    tag,
    digest,
    mediaType: null,
    timestamp: null,
    actor: nonEmpty(nonEmpty(event.source)?.replace(/^jfrog\//, '')),
  });
}
