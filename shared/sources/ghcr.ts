import * as z from 'zod/mini';
import { normalizeTimestamp, quote } from '../core';
import '../zod-english';
import {
  contentId,
  identifierProblem,
  ignored,
  issuesReason,
  nonEmpty,
  optionalString,
  rejected,
  splitImageReference,
} from './common';
import { BEARER_TOKEN, defineSource, envelopeOf, notThisSource } from './source';
import type { ItemOutcome } from './types';
import { isRecord, validatedEvent } from './validate';

/**
 * GitHub `package` webhook events (GitHub Container Registry, ghcr.io): one event per request,
 * `{action: "published"|"updated", package: {package_type, updated_at, package_version: {version,
 * package_url, container_metadata: {tag: {name}}}}, sender: {login}}`. For a container the version is the
 * manifest digest and `package_url` is `ghcr.io/<owner>/<name>:<tag>`. GitHub `updated` counts as a push.
 * Other package types (npm, maven, ...), a version published without a tag (digest only) and other
 * GitHub events (`X-GitHub-Event` is not `package`, e.g. `ping` or the legacy `registry_package`
 * duplicate) are ignored with a reason. The id is the `X-GitHub-Delivery` GUID when the header is
 * there, else derived from the content.
 */

export const GhcrPackageVersion = z.looseObject({
  version: z.string(),
  package_url: z.string(),
  container_metadata: z.nullish(z.looseObject({ tag: z.nullish(z.looseObject({ name: optionalString })) })),
});

export const GhcrPackageEvent = z.looseObject({
  action: z.string(),
  package: z.looseObject({
    package_type: z.string(),
    updated_at: z.string(),
    package_version: GhcrPackageVersion,
  }),
  sender: z.nullish(z.looseObject({ login: optionalString })),
});

const CONTAINER_PACKAGE_TYPES: ReadonlySet<string> = new Set(['container', 'docker']);

const PUSH_ACTIONS: ReadonlySet<string> = new Set(['published', 'updated']);

/** Another GitHub event (the body does not matter), or a package event's parts. */
type GhcrEnvelope =
  | { kind: 'other'; event: string }
  | { kind: 'package'; body: Record<string, unknown>; action: string; pkg: Record<string, unknown> };

export const ghcrParser = defineSource<GhcrEnvelope>({
  name: 'ghcr',
  format: 'GitHub package',
  auth: BEARER_TOKEN,
  envelope(body, request) {
    const event = nonEmpty(request.headers['x-github-event']);
    if (event !== null && event !== 'package') return envelopeOf({ kind: 'other', event });
    if (!isRecord(body)) return notThisSource('not a GitHub package event: body is not an object');
    if (typeof body.action !== 'string' || !isRecord(body.package)) {
      return notThisSource(
        'not a GitHub package event: action (a string) or package (an object) is missing (expected {"action", "package": {...}, "sender"})',
      );
    }
    return envelopeOf({ kind: 'package', body, action: body.action, pkg: body.package });
  },
  items(envelope, request) {
    if (envelope.kind === 'other') {
      const legacy = envelope.event === 'registry_package';
      return [
        ignored(
          `GitHub event ${quote(envelope.event)} ignored: only "package" events report container pushes${
            legacy ? ' (registry_package is the legacy duplicate of package)' : ''
          }`,
        ),
      ];
    }
    const deliveryId = nonEmpty(request.headers['x-github-delivery']);
    return [judgeEvent(envelope.body, envelope.action, envelope.pkg, deliveryId)];
  },
});

function judgeEvent(
  item: Record<string, unknown>,
  action: string,
  pkg: Record<string, unknown>,
  deliveryId: string | null,
): ItemOutcome {
  if (!PUSH_ACTIONS.has(action)) {
    return ignored(`action ${quote(action)} ignored: only "published" and "updated" are pushes`);
  }
  const packageType = pkg.package_type;
  if (packageType === undefined || packageType === null) return rejected('package.package_type is missing');
  if (typeof packageType !== 'string') return rejected('package.package_type is not a string');
  if (!CONTAINER_PACKAGE_TYPES.has(packageType.toLowerCase())) {
    return ignored(`package.package_type ${quote(packageType)} is not a container package`);
  }

  const parsed = GhcrPackageEvent.safeParse(item);
  if (!parsed.success) return rejected(issuesReason(parsed.error));
  const { package: body, sender } = parsed.data;
  const version = body.package_version;
  const reference = splitImageReference(version.package_url);
  if (reference === null) {
    return rejected(
      `package.package_version.package_url ${quote(version.package_url)} names no registry host`,
    );
  }
  const digest = version.version;
  const repository = reference.path.toLowerCase();
  const tag = nonEmpty(version.container_metadata?.tag?.name);

  // Malformed identifiers are rejected even where the item would otherwise be ignored.
  const problem = identifierProblem(
    { digest, repository, tag },
    {
      digest: 'package.package_version.version',
      repository: 'package.package_version.package_url repository',
      tag: 'package.package_version.container_metadata.tag.name',
    },
  );
  if (problem) return rejected(problem);
  if (tag === null) {
    return ignored('digest-only push (container_metadata.tag.name is empty) is not a tag event');
  }

  const timestamp = normalizeTimestamp(body.updated_at);
  if (timestamp === null) {
    return rejected(`package.updated_at ${quote(body.updated_at)} is not an RFC 3339 time`);
  }

  return validatedEvent({
    id: deliveryId ?? contentId('ghcr', [version.package_url, digest, tag, body.updated_at]),
    action: 'push',
    registryHost: reference.host,
    repository,
    tag,
    digest,
    mediaType: null,
    timestamp,
    actor: nonEmpty(sender?.login),
  });
}
