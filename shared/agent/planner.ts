import type { DigestBump } from '../contracts/cluster-bump/payload';
import {
  type ImageReference,
  namesRepository,
  parseImageReference,
  pinnedReference,
} from './image-reference';

/**
 * The pure half of the agent: from a digest bump and the workloads a cluster runs, the exact patches
 * that pin the affected containers to the new digest. No I/O; `kubernetes.ts` lists and patches.
 */
export const WORKLOAD_KINDS = ['Deployment', 'StatefulSet', 'DaemonSet', 'CronJob'] as const;
export type WorkloadKind = (typeof WORKLOAD_KINDS)[number];

/** The annotation annotate mode writes: a JSON object from container name to the pinned reference. */
export const PINNED_IMAGES_ANNOTATION = 'tagwarden.io/pinned-images';

export interface Container {
  name: string;
  image?: string | undefined;
}
export interface PodSpec {
  containers?: Container[] | undefined;
  initContainers?: Container[] | undefined;
  // ephemeralContainers are left alone: they exist only on running Pods (added through the
  // ephemeralcontainers subresource for debugging), never in a workload's pod template, and cannot be patched.
}
interface PodTemplate {
  spec?: PodSpec | undefined;
}
export interface WorkloadMetadata {
  name: string;
  namespace: string;
  annotations?: Record<string, string> | undefined;
}
export type Workload =
  | {
      kind: 'Deployment' | 'StatefulSet' | 'DaemonSet';
      metadata: WorkloadMetadata;
      spec?: { template?: PodTemplate | undefined } | undefined;
    }
  | {
      kind: 'CronJob';
      metadata: WorkloadMetadata;
      spec?:
        | { jobTemplate?: { spec?: { template?: PodTemplate | undefined } | undefined } | undefined }
        | undefined;
    };

/** `patch`: rewrite the container images. `annotate`: record the pin in an annotation only (GitOps clusters). */
export type AgentMode = 'patch' | 'annotate';

export interface PlanOptions {
  mode: AgentMode;
  /** Namespaces the agent may touch; null means all. */
  namespaces: readonly string[] | null;
}

export interface ContainerChange {
  container: string;
  initContainer: boolean;
  from: string;
  to: string;
}

export interface WorkloadPatch {
  kind: WorkloadKind;
  namespace: string;
  name: string;
  changes: ContainerChange[];
  /** A strategic-merge patch: containers are merged by name, so only the named ones change. */
  patch: Record<string, unknown>;
}

export interface Plan {
  patches: WorkloadPatch[];
  /** Containers that follow the tag and already pin the new digest (in annotate mode: already annotated). */
  unchanged: number;
  /** Containers whose image could not be parsed: left alone, reported. */
  unparsable: { kind: WorkloadKind; namespace: string; name: string; container: string; problem: string }[];
}

export function podSpecOf(workload: Workload): PodSpec | undefined {
  return workload.kind === 'CronJob'
    ? workload.spec?.jobTemplate?.spec?.template?.spec
    : workload.spec?.template?.spec;
}

/**
 * A container follows the bumped tag when its image names the same registry and repository and either
 * writes the same tag (with or without a digest) or writes no tag and pins the previous digest.
 * A different tag that happens to pin the previous digest is left alone: it promises another name.
 */
export function targetFor(reference: ImageReference, bump: DigestBump): string | null {
  if (!namesRepository(reference, bump)) return null;
  const followsTag = reference.tag === bump.tag;
  const pinsPrevious =
    reference.tag === null && bump.previousDigest !== null && reference.digest === bump.previousDigest;
  const pinsCurrent = reference.tag === null && reference.digest === bump.digest;
  if (!followsTag && !pinsPrevious && !pinsCurrent) return null;
  return pinnedReference(reference, bump.tag, bump.digest);
}

export function planBump(bump: DigestBump, workloads: readonly Workload[], options: PlanOptions): Plan {
  const plan: Plan = { patches: [], unchanged: 0, unparsable: [] };
  const allowed = options.namespaces === null ? null : new Set(options.namespaces);
  for (const workload of workloads) {
    if (allowed && !allowed.has(workload.metadata.namespace)) continue;
    const pod = podSpecOf(workload);
    if (!pod) continue;
    const pinned = options.mode === 'annotate' ? pinnedImages(workload) : {};
    const changes: ContainerChange[] = [];
    const containers = [
      ...(pod.initContainers ?? []).map((c) => ({ container: c, initContainer: true })),
      ...(pod.containers ?? []).map((c) => ({ container: c, initContainer: false })),
    ];
    for (const { container, initContainer } of containers) {
      if (!container.image) continue;
      const reference = parseImageReference(container.image);
      if ('problem' in reference) {
        plan.unparsable.push({
          kind: workload.kind,
          namespace: workload.metadata.namespace,
          name: workload.metadata.name,
          container: container.name,
          problem: reference.problem,
        });
        continue;
      }
      const target = targetFor(reference, bump);
      if (target === null) continue;
      // Already at the new digest (however it is spelled), or already annotated: nothing to do.
      const annotated = options.mode === 'annotate' && pinned[container.name] === target;
      if (reference.digest === bump.digest || annotated) {
        plan.unchanged += 1;
        continue;
      }
      changes.push({ container: container.name, initContainer, from: container.image, to: target });
    }
    if (changes.length > 0)
      plan.patches.push({
        kind: workload.kind,
        namespace: workload.metadata.namespace,
        name: workload.metadata.name,
        changes,
        patch:
          options.mode === 'annotate' ? annotationPatch(pinned, changes) : imagePatch(workload.kind, changes),
      });
  }
  return plan;
}

function imagePatch(kind: WorkloadKind, changes: ContainerChange[]): Record<string, unknown> {
  const podSpec: Record<string, unknown> = {};
  const init = changes.filter((c) => c.initContainer).map((c) => ({ name: c.container, image: c.to }));
  const main = changes.filter((c) => !c.initContainer).map((c) => ({ name: c.container, image: c.to }));
  if (init.length > 0) podSpec.initContainers = init;
  if (main.length > 0) podSpec.containers = main;
  const template = { template: { spec: podSpec } };
  return kind === 'CronJob' ? { spec: { jobTemplate: { spec: template } } } : { spec: template };
}

function annotationPatch(
  pinned: Record<string, string>,
  changes: ContainerChange[],
): Record<string, unknown> {
  const merged: Record<string, string> = { ...pinned };
  for (const change of changes) merged[change.container] = change.to;
  const sorted = Object.fromEntries(Object.entries(merged).sort(([a], [b]) => a.localeCompare(b)));
  return { metadata: { annotations: { [PINNED_IMAGES_ANNOTATION]: JSON.stringify(sorted) } } };
}

/** The annotation's current value; a value that is not a JSON object of strings counts as empty (it is rewritten). */
function pinnedImages(workload: Workload): Record<string, string> {
  const text = workload.metadata.annotations?.[PINNED_IMAGES_ANNOTATION];
  if (!text) return {};
  try {
    const value: unknown = JSON.parse(text);
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return {};
    return Object.fromEntries(
      Object.entries(value).filter((entry): entry is [string, string] => typeof entry[1] === 'string'),
    );
  } catch {
    return {};
  }
}
