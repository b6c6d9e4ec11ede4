import type { DriftDiff, Effect, KeyedFinding, OpenFinding, TagRef } from '../core';

/** One drift row of a tag's history: a finding a cluster's report opened, or one that cleared. */
export interface DriftRow {
  seq: number;
  cluster: string;
  change: 'opened' | 'cleared';
  key: string;
  finding: KeyedFinding['finding'];
  /** The report that opened or cleared it. */
  reportId: string;
  receivedAt: string;
}

/** What recording a report writes besides the changes: the alerts of the findings it opened. */
export interface DriftPlan {
  diff: DriftDiff;
  /** Outbox effects per event id (`eventId#kind` keyed like every effect). */
  effects: { eventId: string; effects: Effect[] }[];
}

export interface DriftReportInput {
  cluster: string;
  reportId: string;
  receivedAt: string;
  /** Report ids received before this time may be forgotten (a replay that old fails the time window). */
  forgetBefore: string;
}

export type DriftApplyResult = { kind: 'replay' } | { kind: 'applied'; opened: number; cleared: number };

/**
 * The drift findings agents report (issue 15). `applyReport` is atomic: the replay check on the
 * report id, the open findings read, `plan` (pure, given those open findings), the drift rows, the
 * open set and the outbox effects commit together or not at all.
 */
export interface DriftLog {
  /** Open findings, of one cluster or of all, ordered by cluster and key. */
  openFindings(cluster?: string): Promise<OpenFinding[]>;
  applyReport(input: DriftReportInput, plan: (open: OpenFinding[]) => DriftPlan): Promise<DriftApplyResult>;
  /** The drift rows of a tag, oldest first. */
  driftHistory(ref: TagRef): Promise<DriftRow[]>;
}

/** The drift log of a store that keeps one (memory, SQLite, PostgreSQL), or null. */
export function driftLogOf(store: object): DriftLog | null {
  const drift = (store as { drift?: unknown }).drift;
  return drift && typeof drift === 'object' && 'applyReport' in drift ? (drift as DriftLog) : null;
}
