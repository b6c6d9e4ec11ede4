import { signBody } from '../../shared/contracts/cluster-bump/signature';
import type { DriftFinding, DriftReport } from '../../shared/contracts/drift-report/payload';
import { tagRefOf } from '../../shared/core';
import { digestOf, pushEvent } from './events';

export const DRIFT_SECRET = 'drift-secret-0123456789';
export const DRIFT_NOW = new Date('2026-11-22T10:00:00.000Z');
const ref = tagRefOf(pushEvent());

/** A Deployment split between the digests of 'b' (3 pods) and 'a' (2 pods) under the usual tag. */
export const SPLIT: DriftFinding = {
  kind: 'split',
  workload: { kind: 'Deployment', namespace: 'payments', name: 'api' },
  container: 'api',
  ...ref,
  running: [
    { digest: digestOf('b'), pods: 3 },
    { digest: digestOf('a'), pods: 2 },
  ],
  tagDigest: digestOf('b'),
};

export function driftReport(
  id: string,
  findings: DriftFinding[],
  timestamp = DRIFT_NOW.toISOString(),
): DriftReport {
  return { id, cluster: 'prod-eu', timestamp, namespaces: ['payments'], findings, truncated: false };
}

/** The headers and bytes the agent sends for `report`, signed with `secret`. */
export function signedDrift(report: DriftReport, secret = DRIFT_SECRET) {
  const body = JSON.stringify(report);
  return {
    body,
    headers: {
      'content-type': 'application/json',
      'x-tagwarden-cluster': report.cluster,
      'x-tagwarden-timestamp': report.timestamp,
      'x-tagwarden-signature': signBody(secret, body),
    },
  };
}
