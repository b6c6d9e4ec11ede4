import type { Digest, TagRef, TagState } from '../core';

/*
 * The digest index of the stores keyed per tag (DynamoDB, Table Storage): one entry per (repository,
 * digest, tag), written BEFORE the tag's state names the digest (as served or approved digest) and
 * never removed. So every tag whose state names a digest has its entry, and an entry whose tag moved
 * on since is filtered out by reading the tag's state (strongly consistent) when the index is asked.
 * The entry is not in the tag's atomic write: on DynamoDB a transaction would double the cost of
 * every push, and on Table Storage the entry lives in the digest's partition, not the tag's.
 */

/** The digests `next` names (served or approved) that `prev` did not: each needs its entry first. */
export function newlyNamedDigests(prev: TagState | null, next: TagState | null): Digest[] {
  if (!next) return [];
  const known = new Set([prev?.digest, prev?.approvedDigest]);
  const named = new Set([next.digest, next.approvedDigest]);
  return [...named].filter((d): d is Digest => typeof d === 'string' && !known.has(d));
}

/**
 * The candidates (tags the index names for `digest`) whose state still serves it or has it as the
 * approved digest, sorted by tag: what `tagsServing` answers.
 */
export async function stillNaming(
  candidates: readonly TagRef[],
  digest: Digest,
  stateOf: (ref: TagRef) => Promise<TagState | null>,
): Promise<TagRef[]> {
  const states = await Promise.all(candidates.map(stateOf));
  return candidates
    .filter((_, i) => states[i]?.digest === digest || states[i]?.approvedDigest === digest)
    .sort((a, b) => a.tag.localeCompare(b.tag));
}
