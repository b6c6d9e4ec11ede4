import type { DigestBump } from '../contracts/cluster-bump/payload';
import type { DriftFinding } from '../contracts/drift-report/payload';
import type { Logger } from '../log';
import { type AgentOptions, applyBump, type BumpReport, type WorkloadClient } from './apply';
import { type ApprovedDigests, tagKey } from './drift';
import type { Workload } from './planner';

/**
 * `--fix drift`: pins each split or stale workload to its tag's approved digest (the last bump the
 * agent accepted) through the bump's own path (`applyBump`: patch or annotate mode, dry run, namespaces,
 * digest-only references left alone), with a bump made for the fix whose id is `drift-fix:<bump id>`.
 * A workload that already took that fix refuses it again (a person who unpinned it is not fought).
 */
export async function fixDrift(
  client: WorkloadClient,
  findings: readonly DriftFinding[],
  workloads: readonly Workload[],
  approved: ApprovedDigests,
  options: AgentOptions,
  log: Logger,
  now: () => number = Date.now,
): Promise<BumpReport[]> {
  const reports: BumpReport[] = [];
  // One tag per workload and round: two patches built from one listing would overwrite each other's annotation.
  const taken = new Set<string>();
  for (const [, group] of fixableByTag(findings, approved)) {
    const names = new Set(
      group.findings
        .map((f) => `${f.workload.kind}/${f.workload.namespace}/${f.workload.name}`)
        .filter((name) => !taken.has(name)),
    );
    const selected = workloads.filter((w) =>
      names.has(`${w.kind}/${w.metadata.namespace}/${w.metadata.name}`),
    );
    if (selected.length === 0) continue;
    for (const name of names) taken.add(name);
    const bump: DigestBump = {
      id: `drift-fix:${group.approved.bumpId}`.slice(0, 512),
      registryHost: group.tag.registryHost,
      repository: group.tag.repository,
      tag: group.tag.tag,
      previousDigest: null,
      digest: group.approved.digest,
      reason: 'moved',
      timestamp: new Date(now()).toISOString(),
    };
    reports.push(await applyBump({ ...client, list: async () => selected }, bump, options, log));
  }
  return reports;
}

function fixableByTag(findings: readonly DriftFinding[], approved: ApprovedDigests) {
  const groups = new Map<
    string,
    { tag: DriftFinding; approved: NonNullable<ReturnType<ApprovedDigests['get']>>; findings: DriftFinding[] }
  >();
  for (const finding of findings) {
    if (finding.kind === 'risky') continue;
    const known = approved.get(finding);
    if (!known) continue;
    const key = tagKey(finding);
    const group = groups.get(key) ?? { tag: finding, approved: known, findings: [] };
    group.findings.push(finding);
    groups.set(key, group);
  }
  return groups;
}
