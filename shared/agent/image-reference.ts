import { hostProblem, quote, repositoryProblem, tagProblem } from '../core/grammar';

/**
 * A container image reference as Kubernetes passes it to containerd (`reference.ParseDockerRef` of
 * distribution/reference): `[host[:port]/]path[:tag][@digest]`. Pure: no I/O.
 */
export interface ImageReference {
  /** The host as written, or `docker.io` when the reference names none. */
  registryHost: string;
  /** The path as written (no `library/` added): what we keep when rewriting the reference. */
  path: string;
  /** The path with Docker Hub's `library/` default applied: what we compare. */
  repository: string;
  /** The tag as written; `latest` when neither a tag nor a digest is written; null for a digest-only reference. */
  tag: string | null;
  /** The digest as written, of any algorithm (`sha256:…`, `sha512:…`, others are kept verbatim). */
  digest: string | null;
  /** The name part exactly as written (`host/path` or `path`), so a rewrite keeps the user's spelling. */
  name: string;
}

export const DOCKER_HUB = 'docker.io';
/** Hosts that all mean Docker Hub. */
const DOCKER_HUB_ALIASES = new Set(['docker.io', 'index.docker.io', 'registry-1.docker.io']);

// distribution/reference: algorithm-component ([+._-] separators), then the encoded part.
const DIGEST = /^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/;
const KNOWN_DIGESTS: Record<string, RegExp> = {
  sha256: /^[a-f0-9]{64}$/,
  sha384: /^[a-f0-9]{96}$/,
  sha512: /^[a-f0-9]{128}$/,
};
const MAX_NAME_LENGTH = 255;

/** Parses an image reference; returns a reason naming what is wrong when it is not one. */
export function parseImageReference(text: string): ImageReference | { problem: string } {
  if (text.length === 0) return { problem: 'image reference is empty' };
  if (text !== text.trim()) return { problem: `image reference ${quote(text)} has surrounding whitespace` };
  const at = text.indexOf('@');
  const remainder = at < 0 ? text : text.slice(0, at);
  const digest = at < 0 ? null : text.slice(at + 1);
  if (digest !== null) {
    const problem = digestProblem(digest);
    if (problem) return { problem: `image reference ${quote(text)}: ${problem}` };
  }
  // A tag follows the last ':' only if no '/' comes after it (else the ':' is a host's port).
  const colon = remainder.lastIndexOf(':');
  const hasTag = colon > remainder.lastIndexOf('/') && colon > remainder.lastIndexOf(']');
  const name = hasTag ? remainder.slice(0, colon) : remainder;
  const writtenTag = hasTag ? remainder.slice(colon + 1) : null;
  if (writtenTag !== null) {
    const problem = tagProblem(writtenTag);
    if (problem) return { problem: `image reference ${quote(text)}: ${problem}` };
  }
  if (name.length > MAX_NAME_LENGTH)
    return { problem: `image reference ${quote(text)}: name is longer than ${MAX_NAME_LENGTH} characters` };
  const { host, path } = splitHost(name);
  if (host !== null) {
    const problem = hostProblem(host);
    if (problem) return { problem: `image reference ${quote(text)}: ${problem}` };
  }
  const pathProblem = repositoryProblem(path);
  if (pathProblem) return { problem: `image reference ${quote(text)}: ${pathProblem}` };
  const registryHost = host ?? DOCKER_HUB;
  return {
    registryHost,
    path,
    repository: normalizeRepository(registryHost, path),
    tag: writtenTag ?? (digest === null ? 'latest' : null),
    digest,
    name,
  };
}

/**
 * The first component is a host only if it contains `.` or `:`, is `localhost`, or has an uppercase
 * letter (distribution's splitDockerDomain); else the whole name is a Docker Hub path.
 */
function splitHost(name: string): { host: string | null; path: string } {
  const slash = name.indexOf('/');
  if (slash < 0) return { host: null, path: name };
  const first = name.slice(0, slash);
  const isHost = /[.:]/.test(first) || first === 'localhost' || first !== first.toLowerCase();
  return isHost ? { host: first, path: name.slice(slash + 1) } : { host: null, path: name };
}

function digestProblem(digest: string): string | null {
  if (!DIGEST.test(digest)) return `digest ${quote(digest)} is not <algorithm>:<encoded>`;
  const [algorithm = '', encoded = ''] = digest.split(':');
  const known = KNOWN_DIGESTS[algorithm];
  if (known && !known.test(encoded))
    return `digest ${quote(digest)} is not a valid ${algorithm} digest (lowercase hex of the right length)`;
  // distribution requires at least 32 characters for an unknown algorithm's encoded part.
  if (!known && encoded.length < 32) return `digest ${quote(digest)} is too short`;
  return null;
}

/** `index.docker.io`, `registry-1.docker.io` and `docker.io` are one registry; hosts compare case-insensitively. */
export function canonicalHost(host: string): string {
  const lower = host.toLowerCase();
  return DOCKER_HUB_ALIASES.has(lower) ? DOCKER_HUB : lower;
}

/** Docker Hub's official images live under `library/`: `nginx` is `library/nginx`. */
export function normalizeRepository(registryHost: string, repository: string): string {
  return canonicalHost(registryHost) === DOCKER_HUB && !repository.includes('/')
    ? `library/${repository}`
    : repository;
}

/** Whether a reference names the repository an event is about (host aliases and `library/` applied). */
export function namesRepository(
  reference: ImageReference,
  event: { registryHost: string; repository: string },
): boolean {
  return (
    canonicalHost(reference.registryHost) === canonicalHost(event.registryHost) &&
    reference.repository === normalizeRepository(event.registryHost, event.repository)
  );
}

/** The fully qualified form containerd pulls: `docker.io/library/nginx:latest`, `host/a:t@sha256:…`. */
export function familiarToFull(reference: ImageReference): string {
  const host = canonicalHost(reference.registryHost) === DOCKER_HUB ? DOCKER_HUB : reference.registryHost;
  return `${host}/${reference.repository}${reference.tag === null ? '' : `:${reference.tag}`}${
    reference.digest === null ? '' : `@${reference.digest}`
  }`;
}

/** `<name as written>:<tag>@<digest>`: the user's spelling of host and path, pinned. */
export function pinnedReference(reference: ImageReference, tag: string, digest: string): string {
  return `${reference.name}:${tag}@${digest}`;
}
