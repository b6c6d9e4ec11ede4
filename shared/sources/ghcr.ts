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
 * GitHub `package` and `registry_package` webhook events (GitHub Container Registry, ghcr.io): one
 * event per request, `{action: "published"|"updated", package: {package_type, updated_at,
 * package_version: {version, package_url, container_metadata: {tag: {name}}}}, sender: {login}}`;
 * a `registry_package` event carries the same object under `registry_package`. For a container the
 * version is the manifest digest and `package_url` is `ghcr.io/<owner>/<name>:<tag>`. GitHub
 * `updated` counts as a push. Other package types (npm, maven, ...), a version published without a tag
 * (digest only) and other GitHub events (`X-GitHub-Event` neither `package` nor `registry_package`,
 * e.g. `ping`) are ignored with a reason. The id is the `X-GitHub-Delivery` GUID when the header is
 * there, else derived from the content (a `package` and a `registry_package` delivery of one push then
 * share it).
 */

export const GhcrPackageVersion = z.looseObject({
  version: z.string(),
  package_url: z.string(),
  container_metadata: z.nullish(z.looseObject({ tag: z.nullish(z.looseObject({ name: optionalString })) })),
});

export const GhcrPackage = z.looseObject({
  package_type: z.string(),
  updated_at: z.string(),
  package_version: GhcrPackageVersion,
});

const CONTAINER_PACKAGE_TYPES: ReadonlySet<string> = new Set(['container', 'docker']);

const PUSH_ACTIONS: ReadonlySet<string> = new Set(['published', 'updated']);

/** The two GitHub events that report a package version, each naming its object after itself. */
type PackageField = 'package' | 'registry_package';
const PACKAGE_FIELDS: readonly PackageField[] = ['package', 'registry_package'];

/** Another GitHub event (the body does not matter), or a package event's parts. */
type GhcrEnvelope =
  | { kind: 'other'; event: string }
  | {
      kind: 'package';
      field: PackageField;
      action: string;
      pkg: Record<string, unknown>;
      sender: unknown;
    };

export const ghcrParser = defineSource<GhcrEnvelope>({
  name: 'ghcr',
  format: 'GitHub package',
  auth: BEARER_TOKEN,
  envelope(body, request) {
    const event = nonEmpty(request.headers['x-github-event']);
    const named = PACKAGE_FIELDS.find((field) => field === event);
    if (event !== null && named === undefined) return envelopeOf({ kind: 'other', event });
    if (!isRecord(body)) return notThisSource('not a GitHub package event: body is not an object');
    const field = named ?? PACKAGE_FIELDS.find((f) => isRecord(body[f]));
    const pkg = field === undefined ? undefined : body[field];
    if (typeof body.action !== 'string' || field === undefined || !isRecord(pkg)) {
      return notThisSource(
        `not a GitHub package event: action (a string) or ${named ?? 'package (or registry_package)'} (an object) is missing (expected {"action", "package": {...}, "sender"})`,
      );
    }
    return envelopeOf({ kind: 'package', field, action: body.action, pkg, sender: body.sender });
  },
  items(envelope, request) {
    if (envelope.kind === 'other') {
      return [
        ignored(
          `GitHub event ${quote(envelope.event)} ignored: only "package" and "registry_package" events report container pushes`,
        ),
      ];
    }
    const deliveryId = nonEmpty(request.headers['x-github-delivery']);
    return [judgeEvent(envelope, deliveryId)];
  },
});

const GhcrSender = z.nullish(z.looseObject({ login: optionalString }));

const EVENT_SCHEMAS = {
  package: z.looseObject({ package: GhcrPackage, sender: GhcrSender }),
  registry_package: z.looseObject({ registry_package: GhcrPackage, sender: GhcrSender }),
} as const;

function judgeEvent(
  { field, action, pkg, sender: rawSender }: Extract<GhcrEnvelope, { kind: 'package' }>,
  deliveryId: string | null,
): ItemOutcome {
  if (!PUSH_ACTIONS.has(action)) {
    return ignored(`action ${quote(action)} ignored: only "published" and "updated" are pushes`);
  }
  const packageType = pkg.package_type;
  if (packageType === undefined || packageType === null) return rejected(`${field}.package_type is missing`);
  if (typeof packageType !== 'string') return rejected(`${field}.package_type is not a string`);
  if (!CONTAINER_PACKAGE_TYPES.has(packageType.toLowerCase())) {
    return ignored(`${field}.package_type ${quote(packageType)} is not a container package`);
  }

  // Parsed under its own field name, so that each issue names the wire path.
  const parsed = EVENT_SCHEMAS[field].safeParse({ [field]: pkg, sender: rawSender });
  if (!parsed.success) return rejected(issuesReason(parsed.error));
  const body = parsed.data[field] as z.infer<typeof GhcrPackage>;
  const sender = parsed.data.sender;
  const version = body.package_version;
  const reference = splitImageReference(version.package_url);
  if (reference === null) {
    return rejected(
      `${field}.package_version.package_url ${quote(version.package_url)} names no registry host`,
    );
  }
  const digest = version.version;
  const repository = reference.path.toLowerCase();
  const tag = nonEmpty(version.container_metadata?.tag?.name);

  // Malformed identifiers are rejected even where the item would otherwise be ignored.
  const problem = identifierProblem(
    { digest, repository, tag },
    {
      digest: `${field}.package_version.version`,
      repository: `${field}.package_version.package_url repository`,
      tag: `${field}.package_version.container_metadata.tag.name`,
    },
  );
  if (problem) return rejected(problem);
  if (tag === null) {
    return ignored('digest-only push (container_metadata.tag.name is empty) is not a tag event');
  }

  const timestamp = normalizeTimestamp(body.updated_at);
  if (timestamp === null) {
    return rejected(`${field}.updated_at ${quote(body.updated_at)} is not an RFC 3339 time`);
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
