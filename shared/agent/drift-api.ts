import { readBoundedBody } from '../bounded-body';
import { digestProblem } from '../core';
import { type ApprovedDigest, type ApprovedDigests, type TagReference, tagKey } from './drift';
import { httpUrlOption } from './drift-report';
import { canonicalHost } from './image-reference';

/** How long one `GET /api/tags/<ref>` may take, how much of its answer is read, and how many a round asks. */
const LOOKUP_TIMEOUT_MS = 5_000;
export const MAX_LOOKUP_BYTES = 1024 * 1024;
export const MAX_LOOKUPS_PER_ROUND = 200;

/** What a drift round compares the pods with: the tag's digest per the last bump, else per Tagwarden's API. */
export type TagDigests = Pick<ApprovedDigests, 'get'>;

/**
 * `--tagwarden-api`: Tagwarden's base URL, http(s), without credentials (the token comes from the
 * environment). Throws a one-line reason.
 */
export function apiBase(text: string): URL {
  const url = httpUrlOption('--tagwarden-api', text);
  url.pathname = url.pathname.replace(/\/+$/, '');
  url.search = '';
  url.hash = '';
  return url;
}

/**
 * Asks Tagwarden's read API (`GET /api/tags/<ref>`, its `current` digest) for the tags a round has no
 * bump for: at most MAX_LOOKUPS_PER_ROUND tags, each once, each within LOOKUP_TIMEOUT_MS and
 * MAX_LOOKUP_BYTES. A tag Tagwarden does not know (404) or that could not be asked stays unknown;
 * `onProblem` is told why (once per tag and round). Returns the bumps' digests first, then the API's.
 */
export async function digestsWithApi(
  approved: TagDigests,
  tags: readonly TagReference[],
  api: { base: URL; token?: string | undefined; onProblem: (tag: string, problem: string) => void },
): Promise<TagDigests> {
  const asked = new Map<string, ApprovedDigest>();
  const wanted = new Map<string, TagReference>();
  for (const tag of tags) if (!approved.get(tag)) wanted.set(tagKey(tag), tag);
  const now = new Date().toISOString();
  for (const [key, tag] of [...wanted].slice(0, MAX_LOOKUPS_PER_ROUND)) {
    try {
      const digest = await currentDigest(api.base, api.token, tag);
      if (digest) asked.set(key, { digest, bumpId: 'tagwarden-api', timestamp: now });
    } catch (error) {
      api.onProblem(key, problemOf(error));
    }
  }
  return { get: (tag) => approved.get(tag) ?? asked.get(tagKey(tag)) ?? null };
}

/** The tag's `current` digest per Tagwarden, or null when it has no history of the tag. Throws on failure. */
async function currentDigest(
  base: URL,
  token: string | undefined,
  tag: TagReference,
): Promise<string | null> {
  const ref = `${canonicalHost(tag.registryHost)}/${tag.repository}:${tag.tag}`;
  const url = new URL(`${base.pathname.replace(/\/+$/, '')}/api/tags/${encodeURIComponent(ref)}`, base);
  const response = await fetch(url, {
    redirect: 'manual',
    signal: AbortSignal.timeout(LOOKUP_TIMEOUT_MS),
    headers: { Accept: 'application/json', ...(token ? { Authorization: `Bearer ${token}` } : {}) },
  });
  if (response.status === 404) {
    await response.body?.cancel();
    return null;
  }
  if (!response.ok) {
    await response.body?.cancel();
    throw new Error(`Tagwarden's API answered ${response.status} for ${ref}`);
  }
  const body = await readBoundedBody(response.body, MAX_LOOKUP_BYTES, {
    contentLength: response.headers.get('content-length'),
    refuse: () => new Error(`Tagwarden's API answer is larger than ${MAX_LOOKUP_BYTES} bytes`),
  });
  const current = (JSON.parse(body.toString('utf8')) as { current?: unknown }).current;
  if (current === null) return null;
  if (typeof current !== 'string' || digestProblem(current) !== null)
    throw new Error(`Tagwarden's API answered no valid current digest for ${ref}`);
  return current;
}

/** An error in a few words: fetch's own cause ("connect ECONNREFUSED …") rather than "fetch failed". */
function problemOf(error: unknown): string {
  const { message, cause } = (error ?? {}) as { message?: unknown; cause?: { message?: unknown } };
  if (typeof message !== 'string') return String(error);
  return typeof cause?.message === 'string' ? `${message}: ${cause.message}` : message;
}
