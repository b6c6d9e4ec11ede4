/** A digest as the OCI grammar allows it here: `sha256:<64 hex>` or `sha512:<128 hex>`, lowercase. */
export type Digest = string;

/** `attempt`: a push the registry refused because the tag is locked (ECR tag immutability). */
export const EVENT_ACTIONS = ['push', 'delete', 'attempt'] as const;
export type EventAction = (typeof EVENT_ACTIONS)[number];

/** Where a refused push came from, as the registry's audit record says (CloudTrail for ECR). */
export interface AttemptOrigin {
  sourceIp: string | null;
  userAgent: string | null;
}

/** One registry event, normalized from any wire format (see ../shared/EVENT-FORMATS.md). */
export interface RegistryEvent {
  /** The source's own event id, or one derived from the content where the source sends none. */
  id: string;
  action: EventAction;
  registryHost: string;
  repository: string;
  tag: string;
  /** Null where the source does not carry it (tag deletes, Docker Hub, Quay). */
  digest: Digest | null;
  mediaType: string | null;
  /** ISO-8601 UTC; null where the source does not carry a time (then the time we received it counts). */
  timestamp: string | null;
  actor: string | null;
  /**
   * Only on attempts: where the refused push came from. On an attempt `digest` is the digest the
   * push tried to put under the tag (null when the call did not carry it) and `actor` the identity.
   */
  origin?: AttemptOrigin;
  /**
   * Only on deletes: the registry deleted the manifest `digest` itself, not the tag. Every tag serving
   * it is gone; such an event is made per tag history says serves the digest or would be reverted to it.
   */
  byDigest?: true;
}

export interface TagRef {
  registryHost: string;
  repository: string;
  tag: string;
}

export function tagRefOf(event: Pick<RegistryEvent, 'registryHost' | 'repository' | 'tag'>): TagRef {
  return { registryHost: event.registryHost, repository: event.repository, tag: event.tag };
}

/** `<registryHost>/<repository>:<tag>`, the form users type and logs print. */
export function formatTagRef(ref: TagRef): string {
  return `${ref.registryHost}/${ref.repository}:${ref.tag}`;
}

export function sameTagRef(a: TagRef, b: TagRef): boolean {
  return a.registryHost === b.registryHost && a.repository === b.repository && a.tag === b.tag;
}
