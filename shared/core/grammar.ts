import { EVENT_ACTIONS, type RegistryEvent, type TagRef } from './model';

// OCI distribution-spec grammars. Nothing unvalidated is passed on from an event.
const TAG = /^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$/;
const PATH_COMPONENT = /^[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*$/;
const DIGEST = /^(?:sha256:[a-f0-9]{64}|sha512:[a-f0-9]{128})$/;
// A DNS name or IPv4 address with an optional port, or a bracketed IPv6 address with an optional port.
const HOST =
  /^(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)*|\[[0-9a-fA-F:.]+\])(?::[0-9]{1,5})?$/;
const MEDIA_TYPE = /^[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}\/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}$/;
const MAX_REPOSITORY_LENGTH = 255;
const MAX_ID_LENGTH = 256;
const MAX_ACTOR_LENGTH = 256;

/** Returns null when valid, else a reason a user can act on. */
export function tagProblem(tag: string): string | null {
  return TAG.test(tag)
    ? null
    : `tag ${quote(tag)} is not a valid tag (expected [a-zA-Z0-9_][a-zA-Z0-9._-]{0,127})`;
}

export function digestProblem(digest: string): string | null {
  return DIGEST.test(digest)
    ? null
    : `digest ${quote(digest)} is not a valid digest (expected sha256:<64 lowercase hex> or sha512:<128 lowercase hex>)`;
}

export function repositoryProblem(repository: string): string | null {
  if (repository.length === 0) return 'repository is empty';
  if (repository.length > MAX_REPOSITORY_LENGTH)
    return `repository is longer than ${MAX_REPOSITORY_LENGTH} characters`;
  for (const component of repository.split('/')) {
    if (!PATH_COMPONENT.test(component)) {
      return `repository ${quote(repository)} is not a valid repository name (component ${quote(component)}: lowercase letters, digits and single separators . _ __ - only; no empty, "." or ".." components)`;
    }
  }
  return null;
}

export function hostProblem(host: string): string | null {
  return HOST.test(host) ? null : `registry host ${quote(host)} is not a valid host[:port]`;
}

function idProblem(id: string): string | null {
  if (id.length === 0) return 'event id is empty';
  if (id.length > MAX_ID_LENGTH) return `event id is longer than ${MAX_ID_LENGTH} characters`;
  return /^[\x21-\x7e]+$/.test(id) ? null : 'event id has characters outside printable ASCII';
}

export function tagRefProblem(ref: TagRef): string | null {
  return hostProblem(ref.registryHost) ?? repositoryProblem(ref.repository) ?? tagProblem(ref.tag);
}

/** Every problem with a normalized event, each naming the field. Empty when the event is valid. */
export function eventProblems(event: RegistryEvent): string[] {
  const problems: string[] = [];
  const push = (p: string | null) => {
    if (p) problems.push(p);
  };
  push(idProblem(event.id));
  if (!EVENT_ACTIONS.includes(event.action))
    push(`action ${quote(String(event.action))} is not push, delete or attempt`);
  push(hostProblem(event.registryHost));
  push(repositoryProblem(event.repository));
  push(tagProblem(event.tag));
  if (event.digest !== null) push(digestProblem(event.digest));
  if (event.mediaType !== null && !MEDIA_TYPE.test(event.mediaType))
    push(`mediaType ${quote(event.mediaType)} is not a valid media type`);
  if (event.timestamp !== null && Number.isNaN(Date.parse(event.timestamp)))
    push(`timestamp ${quote(event.timestamp)} is not an ISO-8601 time`);
  push(textProblem('actor', event.actor));
  if (event.origin !== undefined) {
    if (event.action !== 'attempt') push('origin is only carried by attempts');
    push(textProblem('origin.sourceIp', event.origin.sourceIp));
    push(textProblem('origin.userAgent', event.origin.userAgent));
  }
  if (event.byDigest !== undefined && (event.action !== 'delete' || event.digest === null))
    push('byDigest is only carried by deletes with a digest');
  return problems;
}

/** A free-text field of an event (who, from where): bounded and without control characters. */
function textProblem(field: string, value: string | null): string | null {
  if (value === null) return null;
  if (value.length > MAX_ACTOR_LENGTH) return `${field} is longer than ${MAX_ACTOR_LENGTH} characters`;
  // biome-ignore lint/suspicious/noControlCharactersInRegex: rejecting control characters is the point
  if (/[\x00-\x1f\x7f]/.test(value)) return `${field} contains control characters`;
  return null;
}

/** Parses `<registryHost>/<repository>:<tag>` as users type it. */
export function parseTagRef(text: string): TagRef | { problem: string } {
  const slash = text.indexOf('/');
  const colon = text.lastIndexOf(':');
  if (slash <= 0 || colon <= slash) {
    return { problem: `${quote(text)} is not <registryHost>/<repository>:<tag>` };
  }
  const ref = {
    registryHost: text.slice(0, slash),
    repository: text.slice(slash + 1, colon),
    tag: text.slice(colon + 1),
  };
  const problem = tagRefProblem(ref);
  return problem ? { problem } : ref;
}

/** Quotes a value for an error message, shortened and with control characters made visible. */
export function quote(value: string): string {
  const shown = value.length > 80 ? `${value.slice(0, 77)}...` : value;
  return JSON.stringify(shown);
}
