import { diffDrift, type KeyedFinding, type OpenFinding } from '../../shared/core';
import type { DriftPlan } from '../../shared/history';
import { finding } from '../contract/drift-log.contract';
import { at } from './events';

/** `n` findings, each on its own tag, and a plan queuing an alert and a revert for each one opened. */
export function manyFindings(
  n: number,
  prefix = 'k',
): { reported: KeyedFinding[]; plan: (open: OpenFinding[]) => DriftPlan } {
  const reported = Array.from({ length: n }, (_, i) => ({
    key: `${prefix}${String(i).padStart(3, '0')}`,
    finding: finding({ tag: `v${i}` }),
  }));
  const plan = (open: OpenFinding[]): DriftPlan => {
    const diff = diffDrift(open, reported, false);
    return {
      diff,
      effects: diff.opened.map((f) => ({
        eventId: `drift-${f.key}`,
        effects: [
          { kind: 'alert', after: null, incident: alertIncident(f) },
          { kind: 'revert', after: null, incident: alertIncident(f) },
        ] as DriftPlan['effects'][number]['effects'],
      })),
    };
  };
  return { reported, plan };
}

function alertIncident(f: KeyedFinding) {
  const { registryHost, repository, tag } = f.finding;
  return {
    eventId: `drift-${f.key}`,
    ref: { registryHost, repository, tag },
    from: f.finding.tagDigest,
    to: f.finding.running[1]?.digest ?? null,
    restoreTo: null,
    actor: null,
    eventTime: at(0),
    ruleAction: 'alert',
    ruleSource: 'defaults',
    owners: [],
  };
}

/** A report's input as the receiver gives it, received at `at(seconds)`. */
export const reportInput = (reportId: string, seconds = 10) => ({
  cluster: 'prod-eu',
  reportId,
  receivedAt: at(seconds),
  forgetBefore: at(0),
});
