import * as z from 'zod/mini';
import { fromUnixSeconds, quote } from '../core';
import '../zod-english';
import {
  contentId,
  identifierProblem,
  ignored,
  issuesReason,
  nonEmpty,
  optionalString,
  rejected,
} from './common';
import { defineSource, envelopeOf, notThisSource, TOKEN_IN_QUERY } from './source';
import type { ItemOutcome } from './types';
import { isRecord, validatedEvent } from './validate';

/**
 * Docker Hub repository webhooks: one push per request, `{callback_url, push_data: {pushed_at, pusher,
 * tag}, repository: {repo_name, ...}}`. Docker Hub fires only on pushes and sends no event id, no event
 * type and no digest: the id is derived from the content and the digest is resolved later (the outbox
 * asks the registry which digest the tag serves). `callback_url` is a legacy field and is never used.
 * A push whose `push_data.media_type` is one of Helm's (a chart pushed as an OCI artifact) is ignored.
 */

export const DockerHubPush = z.looseObject({
  push_data: z.looseObject({
    pushed_at: z.number(),
    pusher: optionalString,
    tag: optionalString,
    media_type: optionalString,
  }),
  repository: z.looseObject({ repo_name: z.string() }),
});

const REGISTRY_HOST = 'docker.io';

/** Helm's OCI media types (config `application/vnd.cncf.helm.config.v1+json`, chart content layers). */
const HELM_MEDIA_TYPE = /^application\/vnd\.cncf\.helm\./i;

export const dockerhubParser = defineSource({
  name: 'dockerhub',
  format: 'Docker Hub',
  auth: TOKEN_IN_QUERY,
  envelope(body) {
    if (!isRecord(body)) return notThisSource('not a Docker Hub webhook: body is not an object');
    if (!isRecord(body.push_data) || !isRecord(body.repository)) {
      return notThisSource('not a Docker Hub webhook: push_data and repository must both be objects');
    }
    return envelopeOf(body);
  },
  items: (body) => [judgePush(body)],
});

function judgePush(body: Record<string, unknown>): ItemOutcome {
  const parsed = DockerHubPush.safeParse(body);
  if (!parsed.success) return rejected(issuesReason(parsed.error));
  const { push_data: push, repository: repo } = parsed.data;
  // Official images are `library/<name>`; a bare name is one of them.
  const repository = repo.repo_name.includes('/') ? repo.repo_name : `library/${repo.repo_name}`;
  const tag = nonEmpty(push.tag);

  const problem = identifierProblem(
    { digest: null, repository, tag },
    { digest: 'digest', repository: 'repository.repo_name', tag: 'push_data.tag' },
  );
  if (problem) return rejected(problem);
  if (tag === null) return ignored('push without a tag (push_data.tag is empty) is not a tag event');
  const mediaType = nonEmpty(push.media_type);
  if (mediaType !== null && HELM_MEDIA_TYPE.test(mediaType)) {
    return ignored(`Helm chart push (push_data.media_type ${quote(mediaType)}) is not tracked`);
  }

  const timestamp = fromUnixSeconds(push.pushed_at);
  if (timestamp === null) {
    return rejected(`push_data.pushed_at ${push.pushed_at} is not a unix time in seconds`);
  }
  const actor = nonEmpty(push.pusher);

  return validatedEvent({
    // Two deliveries of the same push carry the same content, hence the same id.
    id: contentId('dockerhub', [repo.repo_name, tag, push.pushed_at, actor]),
    action: 'push',
    registryHost: REGISTRY_HOST,
    repository,
    tag,
    digest: null,
    mediaType: null,
    timestamp,
    actor,
  });
}
