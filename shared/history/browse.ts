import type { Digest, HistoryEntry, OutboxEffect, TagRef, TransitionKind } from '../core';

/** A tag as the overview lists it: what it serves, what a revert would restore, its newest event. */
export interface TagSummary {
  ref: TagRef;
  digest: Digest | null;
  approvedDigest: Digest | null;
  /** The newest history row of the tag (its `seq` orders the list and is the cursor). */
  last: HistoryEntry;
}

/** Which tags the overview lists: every field optional; `repository` is a policy glob (`team/*`). */
export interface TagFilter {
  registryHost?: string;
  repository?: string;
  /** The transition of the tag's newest event. */
  transition?: TransitionKind;
}

/** One page of a list, newest first; `next` is the cursor of the following page, null on the last. */
export interface Page<T> {
  items: T[];
  next: number | null;
}

/**
 * Paged reads for the web interface and its JSON twins (issue 17), newest first. Cursors are history
 * sequence numbers: a page holds rows older than the cursor. Implemented by the stores `serve` runs
 * on (SQLite, PostgreSQL, and memory for tests); the cloud stores have no such queries.
 */
export interface HistoryBrowser {
  recentTags(filter: TagFilter, limit: number, before?: number | null): Promise<Page<TagSummary>>;
  timeline(ref: TagRef, limit: number, before?: number | null): Promise<Page<HistoryEntry>>;
  /** Effects in `status`, newest first (by their last update for failed, next attempt for pending). */
  effectsWithStatus(status: 'pending' | 'failed', limit: number): Promise<OutboxEffect[]>;
}

export function isHistoryBrowser(store: object): store is HistoryBrowser {
  return 'recentTags' in store && 'timeline' in store && 'effectsWithStatus' in store;
}

/** Cuts `limit + 1` rows (fetched to know whether more follow) to a page. */
export function pageOf<T>(rows: T[], limit: number, seqOf: (row: T) => number): Page<T> {
  const items = rows.slice(0, limit);
  return { items, next: rows.length > limit ? seqOf(items[items.length - 1]!) : null };
}
