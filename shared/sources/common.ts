import * as z from 'zod/mini';
import { digestProblem, repositoryProblem, tagProblem } from '../core';
import '../zod-english';
import type { ItemOutcome } from './types';

/**
 * Small helpers the registry parsers share (acr, distribution, ecr). Pure: no I/O.
 * `isRecord` and `validatedEvent` live in ./validate.
 */

/** A wire string field that may be absent or null. */
export const optionalString = z.nullish(z.string());

/** Absent, null and empty strings all read as "not given". */
export function nonEmpty(value: string | null | undefined): string | null {
  return value === undefined || value === null || value === '' ? null : value;
}

/**
 * Names the wire field in a grammar problem: `digest "…" is not…` → `target.digest "…" is not…`
 * (or `detail.image-digest "…" is not…`); a problem not starting with the model name gets `wireName: `.
 */
export function renamed(problem: string | null, modelName: string, wireName: string): string | null {
  if (problem === null) return null;
  return problem.startsWith(`${modelName} `)
    ? `${wireName}${problem.slice(modelName.length)}`
    : `${wireName}: ${problem}`;
}

/** The first three zod issues as `path: message` (or `path is missing`), joined by `; `. */
export function issuesReason(error: z.core.$ZodError): string {
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

/** Says where in the body an ignored or rejected item was: `events[0]: …`; events pass unchanged. */
export function prefixed(prefix: string, outcome: ItemOutcome): ItemOutcome {
  return outcome.kind === 'event' ? outcome : { ...outcome, reason: `${prefix}: ${outcome.reason}` };
}

export function rejected(reason: string): ItemOutcome {
  return { kind: 'rejected', reason };
}

export function ignored(reason: string): ItemOutcome {
  return { kind: 'ignored', reason };
}

/**
 * The first grammar problem among an item's identifiers, named by their wire fields: digest (when
 * given), then repository, then tag (when given); null when all are well formed.
 */
export function identifierProblem(
  ids: { digest: string | null; repository: string; tag: string | null },
  wire: { digest: string; repository: string; tag: string },
): string | null {
  return (
    (ids.digest !== null ? renamed(digestProblem(ids.digest), 'digest', wire.digest) : null) ??
    renamed(repositoryProblem(ids.repository), 'repository', wire.repository) ??
    (ids.tag !== null ? renamed(tagProblem(ids.tag), 'tag', wire.tag) : null)
  );
}

const FNV64_OFFSET = 0xcbf29ce484222325n;
const FNV64_PRIME = 0x100000001b3n;
const U64 = 0xffffffffffffffffn;

/**
 * FNV-1a 64-bit over the UTF-8 bytes of `text`, as 16 lowercase hex digits. Not cryptographic: it
 * derives stable event ids from content where a source sends none (harbor Default, dockerhub, quay).
 * Lone surrogates are hashed as U+FFFD, so no string makes it throw.
 */
export function fnv1a64Hex(text: string): string {
  let hash = FNV64_OFFSET;
  const byte = (b: number) => {
    hash = ((hash ^ BigInt(b)) * FNV64_PRIME) & U64;
  };
  for (let i = 0; i < text.length; i++) {
    let code = text.charCodeAt(i);
    if (code >= 0xd800 && code <= 0xdbff) {
      const next = text.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        code = 0x10000 + ((code - 0xd800) << 10) + (next - 0xdc00);
        i += 1;
      } else code = 0xfffd;
    } else if (code >= 0xdc00 && code <= 0xdfff) code = 0xfffd;
    if (code < 0x80) byte(code);
    else if (code < 0x800) {
      byte(0xc0 | (code >> 6));
      byte(0x80 | (code & 0x3f));
    } else if (code < 0x10000) {
      byte(0xe0 | (code >> 12));
      byte(0x80 | ((code >> 6) & 0x3f));
      byte(0x80 | (code & 0x3f));
    } else {
      byte(0xf0 | (code >> 18));
      byte(0x80 | ((code >> 12) & 0x3f));
      byte(0x80 | ((code >> 6) & 0x3f));
      byte(0x80 | (code & 0x3f));
    }
  }
  return hash.toString(16).padStart(16, '0');
}

/**
 * An event id derived from content: `<source>:<fnv1a64 hex of the parts joined by "|">`. Parts are
 * JSON-encoded first so that `a|b` + `c` and `a` + `b|c` cannot collide by construction.
 */
export function contentId(source: string, parts: readonly (string | number | null)[]): string {
  return `${source}:${fnv1a64Hex(parts.map((p) => JSON.stringify(p)).join('|'))}`;
}

const CONTENT_ID = /^[a-z][a-z0-9-]*:[0-9a-f]{16}$/;

/**
 * An event as it is recorded from one delivery. A content-derived id (contentId) names what was
 * pushed, not the push: pushes A, B, A of one tag give A's id twice, and the store would call the
 * second A a duplicate while the registry serves it. So such an id is made one delivery's
 * (`<id>@<receivedAt>`); a redelivery of the tag's current digest is then `unchanged`, which plans
 * no effect. Ids the source sends itself stay as they are: a redelivery is a duplicate by id.
 */
export function perDelivery<E extends { id: string }>(event: E, receivedAt: string): E {
  return CONTENT_ID.test(event.id) ? { ...event, id: `${event.id}@${receivedAt}` } : event;
}

const URL_SCHEME = /^[A-Za-z][A-Za-z0-9+.-]*:\/\//;

/**
 * How a field names its registry host:
 * - `reference`: an image reference as registries print it (`harbor.example.com/ns/repo:tag`,
 *   `https://Host:5000/ns/repo@sha256:…`), scheme optional. Like docker, the first path segment only counts
 *   as a host when a path follows and it contains `.` or `:` or is `localhost` (`library/nginx` has none);
 * - `url`: a URL, scheme required (`https://user@Host:5000/v2/…`): its authority is the host;
 * - `origin`: a URL or bare authority, scheme optional (`https://Acme.jfrog.io:443/artifactory`).
 */
export type HostForm = 'reference' | 'url' | 'origin';

/** The registry host a reference, URL or origin names: lower-cased, userinfo dropped; null when none. Never throws. */
export function hostOf(text: string | null | undefined, form: HostForm): string | null {
  if (!text) return null;
  const scheme = URL_SCHEME.exec(text);
  if (form === 'url' && scheme === null) return null;
  const rest = text.slice(scheme?.[0].length ?? 0);
  const end = rest.search(/[/?#]/);
  if (form === 'reference' && (end <= 0 || rest[end] !== '/')) return null;
  const authority = end === -1 ? rest : rest.slice(0, end);
  const host = authority.slice(authority.lastIndexOf('@') + 1).toLowerCase();
  if (host === '') return null;
  if (form !== 'reference') return host;
  return host.includes('.') || host.includes(':') || host === 'localhost' ? host : null;
}

/** An image reference split into its parts; see splitImageReference. */
export interface ImageReferenceParts {
  /** As hostOf reads a reference: lower-cased, userinfo dropped. */
  host: string;
  /** Between the host and `:tag` / `@digest`, as written (not lower-cased, not validated). */
  path: string;
  /** After the last `:` of the last path segment; `''` when the reference ends in `:`; null when none. */
  tag: string | null;
  /** After the first `@`; null when none. */
  digest: string | null;
}

/**
 * Splits `host[:port]/path[:tag][@digest]` (with or without a URL scheme, as ghcr's `package_url` and
 * Artifact Registry's `digest`/`tag` references print it) into host, path, tag and digest. Null when the
 * reference names no host (see hostOf). Nothing is validated here; never throws.
 */
export function splitImageReference(reference: string | null | undefined): ImageReferenceParts | null {
  const host = hostOf(reference, 'reference');
  if (!reference || host === null) return null;
  const withoutScheme = reference.replace(URL_SCHEME, '');
  const rest = withoutScheme.slice(withoutScheme.indexOf('/') + 1);
  const at = rest.indexOf('@');
  const name = at === -1 ? rest : rest.slice(0, at);
  const colon = name.lastIndexOf(':');
  const hasTag = colon !== -1 && colon > name.lastIndexOf('/');
  return {
    host,
    path: hasTag ? name.slice(0, colon) : name,
    tag: hasTag ? name.slice(colon + 1) : null,
    digest: at === -1 ? null : rest.slice(at + 1),
  };
}
