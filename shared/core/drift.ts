import type { Alert } from './alert';
import type { DriftKind, DriftNotice, Effect, Incident } from './decide';
import type { Digest, TagRef } from './model';
import type { ResolvedRule } from './policy';

/**
 * Drift (issue 15): what the pods of a cluster really run, as an agent reports it, against what the tag
 * serves. The wire contract is `shared/contracts/drift-report`; these are the same facts, for the
 * rooms that may not import it (core, history).
 */
export type { DriftKind, DriftNotice } from './decide';

export interface DriftFindingFacts {
  kind: DriftKind;
  workload: { kind: 'Deployment' | 'StatefulSet' | 'DaemonSet' | 'CronJob'; namespace: string; name: string };
  container: string;
  registryHost: string;
  repository: string;
  tag: string;
  /** What the pods run, most pods first. */
  running: { digest: Digest; pods: number }[];
  /** The digest the agent believes the tag serves, or null. */
  tagDigest: Digest | null;
}

/** A finding with its identity across reports (the contract's `findingKey`). */
export interface KeyedFinding {
  key: string;
  finding: DriftFindingFacts;
}

/** A finding a cluster's reports carry and no later report has cleared. */
export interface OpenFinding extends KeyedFinding {
  cluster: string;
  /** When the report that first carried it was received. */
  openedAt: string;
  /** The report that first carried it. */
  reportId: string;
}

/** What one report changes: the findings it newly carries, and the open ones it no longer carries. */
export interface DriftDiff {
  opened: KeyedFinding[];
  cleared: OpenFinding[];
}

/**
 * A report is a complete snapshot: a finding it carries that is not open opens; an open finding it
 * does not carry has cleared — unless the report was truncated (the agent had more findings than
 * it could send), when what it left out may still be there, so nothing clears.
 */
export function diffDrift(open: OpenFinding[], reported: KeyedFinding[], truncated: boolean): DriftDiff {
  const openKeys = new Set(open.map((f) => f.key));
  const reportedKeys = new Set<string>();
  const opened: KeyedFinding[] = [];
  for (const entry of reported) {
    if (reportedKeys.has(entry.key)) continue;
    reportedKeys.add(entry.key);
    if (!openKeys.has(entry.key)) opened.push(entry);
  }
  const cleared = truncated ? [] : open.filter((f) => !reportedKeys.has(f.key));
  return { opened, cleared };
}

export function findingRef(finding: DriftFindingFacts): TagRef {
  return { registryHost: finding.registryHost, repository: finding.repository, tag: finding.tag };
}

/** `sha256:` and 12 hex digits: enough to tell digests apart, short enough for a sentence. */
export function shortDigest(digest: string): string {
  const [algorithm, hex = ''] = digest.split(':', 2);
  return hex.length > 12 ? `${algorithm}:${hex.slice(0, 12)}…` : digest;
}

function pods(n: number): string {
  return `${n} pod${n === 1 ? '' : 's'}`;
}

function listed(parts: string[]): string {
  return parts.length <= 1 ? (parts[0] ?? '') : `${parts.slice(0, -1).join(', ')} and ${parts.at(-1)}`;
}

const TITLES: Record<DriftKind, string> = {
  split: 'Pods run different images under one tag',
  stale: 'Pods run an image the tag no longer serves',
  risky: 'Pods may run different images under one tag',
};

/**
 * The alert's words for a finding, e.g. "Deployment payments/api runs sha256:5d2f… on 3 pods and
 * sha256:91be… on 2 pods under payments/api:1.4.2; the tag serves sha256:5d2f… (cluster prod-eu)".
 * `serves` is what Tagwarden's history says the tag serves, else the agent's belief.
 */
export function driftNotice(cluster: string, finding: DriftFindingFacts, serves: Digest | null): DriftNotice {
  const { workload, kind } = finding;
  const who = `${workload.kind} ${workload.namespace}/${workload.name}`;
  const image = `${finding.repository}:${finding.tag}`;
  const runs = listed(finding.running.map((r) => `${shortDigest(r.digest)} on ${pods(r.pods)}`));
  const served = serves
    ? `the tag serves ${shortDigest(serves)}`
    : 'Tagwarden does not know what the tag serves';
  const text =
    kind === 'risky'
      ? `${who} pulls ${image} by tag with imagePullPolicy: IfNotPresent, so each node keeps the digest it pulled first${runs ? ` (runs ${runs})` : ''}; ${served} (cluster ${cluster})`
      : `${who} runs ${runs} under ${image}; ${served} (cluster ${cluster})`;
  const fix =
    kind === 'risky'
      ? 'To fix: pin the image by digest, or set imagePullPolicy: Always.'
      : 'To fix: pin the workload to the digest the tag serves (tagwarden agent --fix drift), or restart its rollout so every pod pulls the tag again.';
  return {
    cluster,
    kind,
    title: TITLES[kind],
    text,
    notes: [`Container ${finding.container} of ${who}, registry ${finding.registryHost}.`, fix],
  };
}

/** The alert a drift effect sends. */
export function driftAlert(incident: Incident, notice: DriftNotice): Alert {
  return {
    incident,
    title: notice.title,
    actionTaken: notice.text,
    severity: 'warning',
    notes: notice.notes,
  };
}

/**
 * The effects of a newly opened finding: one alert to the tag's owners, keyed by `eventId` in the
 * outbox (so recording it twice keeps one); none when the tag's rule is `allow` (a floating tag).
 */
export function driftEffects(
  eventId: string,
  notice: DriftNotice,
  seen: { finding: DriftFindingFacts; serves: Digest | null },
  rule: ResolvedRule,
  receivedAt: string,
): Effect[] {
  if (rule.action === 'allow') return [];
  const { finding, serves } = seen;
  const other = finding.running.find((r) => r.digest !== serves)?.digest ?? null;
  const incident: Incident = {
    eventId,
    ref: findingRef(finding),
    from: serves,
    to: other,
    restoreTo: null,
    actor: null,
    eventTime: receivedAt,
    ruleAction: rule.action,
    ruleSource: rule.source,
    owners: rule.owners,
    drift: notice,
  };
  return [{ kind: 'alert', incident, after: null }];
}
