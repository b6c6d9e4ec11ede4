import * as z from 'zod/mini';
import { quote } from '../core';
import '../zod-english';
import { contentId, hostOf, identifierProblem, ignored, prefixed, rejected } from './common';
import { defineSource, TOKEN_IN_QUERY } from './source';
import type { ItemOutcome } from './types';
import { validatedEvent } from './validate';

/**
 * Quay (quay.io and Red Hat Quay) "Repository Push" notifications: `{name, repository: "ns/repo",
 * namespace, docker_url: "quay.io/ns/repo", homepage, updated_tags: ["latest", ...]}`. One push event per
 * updated tag. Quay sends no event id, no time, no digest and no pusher: the digest is resolved at record
 * time, the time of receipt counts. Other Quay notifications (builds, vulnerabilities) carry no
 * `updated_tags` and are ignored.
 */

export const QuayNotification = z.looseObject({
  repository: z.string(),
  docker_url: z.string(),
  updated_tags: z.optional(z.array(z.unknown())),
});

export const quayParser = defineSource({
  name: 'quay',
  format: 'Quay',
  auth: TOKEN_IN_QUERY,
  envelope: {
    schema: QuayNotification,
    what: 'Quay repository notification',
    expected: '{"repository", "docker_url", "updated_tags": [...]}',
  },
  items(notification) {
    const tags = notification.updated_tags;
    if (tags === undefined) {
      return [
        ignored('no updated_tags: not a repository push notification (builds and scans are not tag events)'),
      ];
    }
    if (tags.length === 0) return [ignored('updated_tags is empty: no tag changed')];

    // The id hashes docker_url, repository, the tag and every string tag of the notification, sorted:
    // two identical notifications (a redelivery) give the same ids and collapse as duplicates. A later
    // re-push of the same tag gets the same id only if its notification body is identical too, which
    // is intended: Quay sends no digest, the digest is resolved at record time. Caveat: Quay bodies
    // carry no time, so a re-push of `latest` alone IS byte-identical; the outbox keys the resolve
    // effect and the store dedups on this id, so such a re-push needs dedup on (tag, resolved digest)
    // downstream rather than on the id alone.
    const allTags = tags
      .filter((t): t is string => typeof t === 'string')
      .sort()
      .join(',');
    const registryHost = hostOf(notification.docker_url, 'reference');
    return tags.map((tag, i) =>
      prefixed(
        `updated_tags[${i}]`,
        judgeTag(notification.repository, notification.docker_url, registryHost, tag, allTags),
      ),
    );
  },
});

function judgeTag(
  repository: string,
  dockerUrl: string,
  registryHost: string | null,
  tag: unknown,
  allTags: string,
): ItemOutcome {
  if (typeof tag !== 'string') return rejected('is not a string');
  const problem = identifierProblem(
    { digest: null, repository, tag },
    { digest: 'digest', repository: 'repository', tag: 'tag' },
  );
  if (problem) return rejected(problem);
  if (registryHost === null) return rejected(`docker_url ${quote(dockerUrl)} names no registry host`);

  return validatedEvent({
    id: contentId('quay', [dockerUrl, repository, tag, allTags]),
    action: 'push',
    registryHost,
    repository,
    tag,
    digest: null,
    mediaType: null,
    timestamp: null,
    actor: null,
  });
}
