import type { DigestBump } from '../contracts/cluster-bump/payload';
import { errorMessage } from '../core/errors';
import type { Logger } from '../log';
import { type ConfigurationProblem, KubernetesApiError } from './api-errors';
import type { RunningPods } from './drift';
import {
  type ContainerChange,
  type PlanOptions,
  planBump,
  type Workload,
  type WorkloadKind,
} from './planner';

/** What `/readyz` reports: whether the workloads can be read, and from where. */
export type Readiness =
  | { ready: true; source: 'api' | 'manifests'; detail: string }
  | { ready: false; source: 'api' | 'manifests'; error: string; problem: ConfigurationProblem | null };

/**
 * The cluster port of the agent: list the four workload kinds, apply a strategic-merge patch to one,
 * say whether they can be read. Failures are `KubernetesApiError`s, permanent when `problem` is set.
 */
export interface WorkloadClient {
  /** Every Deployment, StatefulSet, DaemonSet and CronJob in these namespaces (null: all namespaces). */
  list(namespaces: readonly string[] | null): Promise<Workload[]>;
  patch(
    target: { kind: WorkloadKind; namespace: string; name: string },
    patch: Record<string, unknown>,
  ): Promise<void>;
  ready(namespaces: readonly string[] | null): Promise<Readiness>;
  /** The pods of these namespaces with the ReplicaSets and Jobs between them and their workloads (drift). */
  running(namespaces: readonly string[] | null): Promise<RunningPods>;
}

export interface AgentOptions extends PlanOptions {
  dryRun: boolean;
}

export interface PatchedWorkload {
  kind: WorkloadKind;
  namespace: string;
  name: string;
  changes: ContainerChange[];
}

export interface BumpReport {
  /** In a dry run: what would be patched. */
  patched: PatchedWorkload[];
  unchanged: number;
  dryRun: boolean;
  mode: PlanOptions['mode'];
  /**
   * Patches the API refused: the caller answers 502 so the sender retries (a retry re-plans), or a
   * permanent failure when `problem` names the agent's configuration (TLS, credentials, RBAC).
   */
  failed: (PatchedWorkload & { error: string; problem?: ConfigurationProblem })[];
  unparsable: { kind: WorkloadKind; namespace: string; name: string; container: string; problem: string }[];
  /** Workloads that already took this bump or a newer one of the tag: a replay, left alone. */
  refused: { kind: WorkloadKind; namespace: string; name: string; reason: string }[];
}

/** Lists, plans and (unless a dry run) applies one bump; logs one line per workload patched. */
export async function applyBump(
  client: WorkloadClient,
  bump: DigestBump,
  options: AgentOptions,
  log: Logger,
): Promise<BumpReport> {
  const workloads = await client.list(options.namespaces);
  const plan = planBump(bump, workloads, options);
  const report: BumpReport = {
    patched: [],
    unchanged: plan.unchanged,
    dryRun: options.dryRun,
    mode: options.mode,
    failed: [],
    unparsable: plan.unparsable,
    refused: plan.refused,
  };
  const fields = {
    eventId: bump.id,
    registryHost: bump.registryHost,
    repository: bump.repository,
    tag: bump.tag,
    digest: bump.digest,
    previousDigest: bump.previousDigest,
  };
  for (const item of plan.unparsable)
    log.warn('image reference not understood; container left alone', { ...fields, ...item });
  for (const item of plan.refused) log.warn('bump refused by workload', { ...fields, ...item });
  for (const { patch, ...workload } of plan.patches) {
    if (options.dryRun) {
      report.patched.push(workload);
      log.info('would patch workload (dry run)', { ...fields, ...workload, mode: options.mode });
      continue;
    }
    try {
      await client.patch(workload, patch);
      report.patched.push(workload);
      log.info('patched workload', { ...fields, ...workload, mode: options.mode });
    } catch (error) {
      const problem = error instanceof KubernetesApiError ? error.problem : null;
      report.failed.push({ ...workload, error: errorMessage(error), ...(problem ? { problem } : {}) });
      log.error('patching workload failed', { ...fields, ...workload, error: errorMessage(error) });
    }
  }
  return report;
}
