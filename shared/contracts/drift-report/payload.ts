import * as z from 'zod/mini';
import { digestProblem, hostProblem, repositoryProblem, tagProblem } from '../../core';

/**
 * The drift report contract (issue 15): what `tagwarden agent` POSTs to Tagwarden's
 * `POST /webhooks/agent` about what the pods of its namespaces really run. It lives beside the
 * cluster-bump contract because both sides use it — the agent (`shared/agent`) builds and signs it,
 * the receiver (`shared/guard`) verifies and records it — and neither may import the other.
 *
 * Signing is the bump's scheme in the other direction: `X-Tagwarden-Signature: sha256=<hex
 * HMAC-SHA256 of the raw body>` with the cluster's shared secret (the `secret` of the cluster's
 * `clusters[]` entry, the one the agent verifies bumps with), `X-Tagwarden-Timestamp` equal to
 * `timestamp` and within the same window, and `X-Tagwarden-Cluster` naming the `clusters[]` entry, so
 * the receiver picks the secret and verifies the bytes before it parses them.
 *
 * A report is a complete snapshot of the agent's namespaces: a finding the receiver has open for
 * this cluster and that a report no longer carries has cleared.
 *
 * Written with zod/mini, like the cluster schema: the AWS webhook bundle takes it without classic
 * zod (its size ceiling), and classic callers use it unchanged (both share zod's core).
 */
export const CLUSTER_HEADER = 'X-Tagwarden-Cluster';
export const DRIFT_REPORT_PATH = '/webhooks/agent';
/** One report carries at most this many findings; a bigger cluster sends its first ones and says so. */
export const MAX_FINDINGS = 2000;
/** Bytes a report may take on the wire (checked before parsing). */
export const MAX_REPORT_BYTES = 1024 * 1024;

export const DRIFT_KINDS = ['split', 'stale', 'risky'] as const;
export type DriftKind = (typeof DRIFT_KINDS)[number];

const name = z.string().check(z.minLength(1), z.maxLength(253));

export const DriftFinding = z.strictObject({
  /**
   * split: pods of one workload run different digests for one image reference;
   * stale: pods run a digest other than the one the tag serves now;
   * risky: a mutable tag without a digest pin, pulled with `imagePullPolicy: IfNotPresent`.
   */
  kind: z.enum(DRIFT_KINDS),
  workload: z.strictObject({
    kind: z.enum(['Deployment', 'StatefulSet', 'DaemonSet', 'CronJob']),
    namespace: name,
    name,
  }),
  /** The container (or init container) name in the pod template. */
  container: name,
  registryHost: grammar(hostProblem),
  repository: grammar(repositoryProblem),
  tag: grammar(tagProblem),
  /** What the pods run, most pods first; empty for `risky` when no pod has started yet. */
  running: z
    .array(z.strictObject({ digest: grammar(digestProblem), pods: z.int().check(z.minimum(1)) }))
    .check(z.maxLength(64)),
  /** The digest the agent believes the tag serves (last bump received), or null when unknown. */
  tagDigest: z.nullable(grammar(digestProblem)),
});
export type DriftFinding = z.infer<typeof DriftFinding>;

export const DriftReport = z.strictObject({
  /** Unique per report: the receiver refuses a second report with the same id. */
  id: z.string().check(z.minLength(1), z.maxLength(128)),
  /** The `clusters[]` entry name; equals the cluster header. */
  cluster: name,
  /** RFC 3339, the moment the report was signed; equals the timestamp header. */
  timestamp: z.string().check(z.minLength(1), z.maxLength(64)),
  /** The namespaces the agent looked at; null: all. */
  namespaces: z.nullable(z.array(name).check(z.maxLength(1000))),
  findings: z.array(DriftFinding).check(z.maxLength(MAX_FINDINGS)),
  /** True when the agent had more findings than MAX_FINDINGS and sent the first ones only. */
  truncated: z.boolean(),
});
export type DriftReport = z.infer<typeof DriftReport>;

/**
 * The identity of a finding across reports: the same kind, workload, container, reference and set
 * of running digests is the same finding (pod counts may change without a new alert).
 */
export function findingKey(cluster: string, finding: DriftFinding): string {
  const { kind, workload, container, registryHost, repository, tag, running } = finding;
  const digests = running.map((entry) => entry.digest).sort();
  return [
    cluster,
    kind,
    workload.kind,
    workload.namespace,
    workload.name,
    container,
    `${registryHost}/${repository}:${tag}`,
    ...digests,
  ].join('|');
}

function grammar(problem: (value: string) => string | null) {
  return z.string().check(
    z.superRefine((value, context) => {
      const reason = problem(value);
      if (reason) context.addIssue({ code: 'custom', message: reason, input: value });
    }),
  );
}
