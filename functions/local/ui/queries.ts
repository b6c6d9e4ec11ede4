import { driftNotice, findingRef, formatTagRef, type HistoryEntry, type TagRef } from '../../../shared/core';
import type {
  DriftLog,
  DriftRow,
  HistoryBrowser,
  Outbox,
  TagFilter,
  TagHistory,
} from '../../../shared/history';
import { effectsOfTag, type TagEffectView } from '../tag-effects';

// The queries behind each page: the HTML page and its JSON twin under /api/ call the same function,
// so a script and the page never disagree.

export type UiStore = HistoryBrowser &
  Pick<Outbox, 'effectsOf' | 'failedEffects' | 'updateEffect'> &
  Pick<TagHistory, 'tagState'>;

/** The drift findings agents report (issue 15), when the store keeps them. */
export type UiDrift = Pick<DriftLog, 'openFindings' | 'driftHistory'>;

export const DEFAULT_LIMIT = 100;
export const MAX_LIMIT = 500;

export interface TagListItem {
  tagRef: string;
  registryHost: string;
  repository: string;
  tag: string;
  /** What the tag serves now (null after a delete). */
  digest: string | null;
  /** What a revert would restore. */
  approvedDigest: string | null;
  lastChange: HistoryEntry;
}

export interface TagList {
  filter: TagFilter;
  tags: TagListItem[];
  /** Cursor of the next (older) page, or null. */
  next: number | null;
}

export async function listTags(store: UiStore, filter: TagFilter, limit: number, cursor: number | null) {
  const page = await store.recentTags(filter, limit, cursor);
  const tags = page.items.map(
    (s): TagListItem => ({
      tagRef: formatTagRef(s.ref),
      ...s.ref,
      digest: s.digest,
      approvedDigest: s.approvedDigest,
      lastChange: s.last,
    }),
  );
  return { filter, tags, next: page.next } satisfies TagList;
}

export interface EffectListItem extends Omit<TagEffectView, 'outcome'> {
  tagRef: string;
  outcome: string | null;
}

export async function listEffects(store: UiStore, state: 'pending' | 'failed', limit: number) {
  const effects = await store.effectsWithStatus(state, limit);
  return effects.map(
    (e): EffectListItem => ({
      key: e.key,
      eventId: e.eventId,
      tagRef: formatTagRef(e.effect.incident.ref),
      kind: e.kind,
      cluster: e.effect.kind === 'bump' ? (e.effect.cluster ?? null) : null,
      status: e.status,
      attempts: e.attempts,
      nextAttemptAt: e.nextAttemptAt,
      outcome: e.outcome,
      lastError: e.lastError,
    }),
  );
}

export interface TimelineEntry extends HistoryEntry {
  effects: TagEffectView[];
}

export interface Timeline {
  tagRef: string;
  entries: TimelineEntry[];
  /** The tag's drift rows, newest first, on the first page only (at most MAX_DRIFT_ROWS). */
  drift: DriftTimelineRow[];
  /** Failed effects of the tag that belong to no listed event (a digest that could not be resolved). */
  otherEffects: TagEffectView[];
  next: number | null;
}

/** One page of a tag's events, newest first, each with the effects it caused (and drift rows, first page). */
export async function tagTimeline(
  store: UiStore,
  ref: TagRef,
  limit: number,
  cursor: number | null,
  drift?: UiDrift,
) {
  const page = await store.timeline(ref, limit, cursor);
  const effects = await effectsOfTag(store, ref, page.items);
  const owned = new Set<string>();
  const entries = page.items.map((row): TimelineEntry => {
    const own = effects.filter((e) => e.eventId === row.eventId || e.eventId.startsWith(`${row.eventId}:`));
    for (const e of own) owned.add(e.key);
    return { ...row, effects: own };
  });
  const otherEffects = cursor === null ? effects.filter((e) => !owned.has(e.key)) : [];
  const driftRows = drift && cursor === null ? await driftRowsOf(drift, ref) : [];
  return {
    tagRef: formatTagRef(ref),
    entries,
    drift: driftRows,
    otherEffects,
    next: page.next,
  } satisfies Timeline;
}

/** Puts a failed effect back in the outbox, due now; the reason when it cannot be retried. */
export async function retryEffect(store: UiStore, key: string, now: Date): Promise<TagRef | string> {
  const hash = key.lastIndexOf('#');
  const effect =
    hash > 0 ? (await store.effectsOf(key.slice(0, hash))).find((e) => e.key === key) : undefined;
  if (!effect) return `no effect ${key} in the outbox`;
  if (effect.status !== 'failed')
    return `effect ${key} is ${effect.status}, not failed; only failed effects are retried`;
  const at = now.toISOString();
  const error = effect.lastError ?? 'retried by hand';
  await store.updateEffect(key, { status: 'pending', error, nextAttemptAt: at }, at);
  return effect.effect.incident.ref;
}

/** Drift rows shown on a tag's page at most (the newest); `tagwarden history` lists them all. */
export const MAX_DRIFT_ROWS = 200;

/** A drift row of a tag: a finding opened or cleared in a cluster, with the finding in words. */
export interface DriftTimelineRow extends Omit<DriftRow, 'finding'> {
  kind: DriftRow['finding']['kind'];
  text: string;
  finding: DriftRow['finding'];
}

async function driftRowsOf(drift: UiDrift, ref: TagRef): Promise<DriftTimelineRow[]> {
  const rows = (await drift.driftHistory(ref)).slice(-MAX_DRIFT_ROWS).reverse();
  return rows.map((row) => ({
    ...row,
    kind: row.finding.kind,
    text: driftNotice(row.cluster, row.finding, row.finding.tagDigest).text,
  }));
}

/** An open drift finding, in words, with the tag it names. */
export interface DriftListItem {
  cluster: string;
  key: string;
  kind: DriftRow['finding']['kind'];
  tagRef: string;
  text: string;
  openedAt: string;
}

/**
 * The open findings of every cluster, each in the words of its alert: "the tag serves" is what this
 * history says now, else the digest the agent last received in a bump.
 */
export async function openDrift(store: UiStore, drift: UiDrift): Promise<DriftListItem[]> {
  const open = await drift.openFindings();
  const serves = new Map<string, string | null>();
  for (const { finding } of open) {
    const tagRef = formatTagRef(findingRef(finding));
    if (!serves.has(tagRef)) serves.set(tagRef, (await store.tagState(findingRef(finding)))?.digest ?? null);
  }
  return open.map(({ cluster, key, finding, openedAt }) => {
    const tagRef = formatTagRef(findingRef(finding));
    const digest = serves.get(tagRef) ?? finding.tagDigest;
    return {
      cluster,
      key,
      kind: finding.kind,
      tagRef,
      text: driftNotice(cluster, finding, digest).text,
      openedAt,
    };
  });
}
