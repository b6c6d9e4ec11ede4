import type { DigestBump } from '../contracts/cluster-bump/payload';
import {
  canonicalHost,
  type ImageReference,
  namesRepository,
  normalizeRepository,
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
/**
 * Opt-in (`"true"`) for references pinned by digest alone (`repo@sha256:…`) to follow a tag whose
 * previous digest they pin. Without it such a reference is never moved: anyone allowed to push the
 * tag could otherwise re-point every workload that pinned its old digest on purpose.
 */
export const FOLLOW_DIGEST_ANNOTATION = 'tagwarden.io/follow-digest';
/**
 * The last bump applied to a workload, per tag (`host/repository:tag` → `{id, timestamp}`), written
 * with every patch: a captured bump replayed after the agent restarts (or to another replica) is
 * refused because it is not newer than what the workload already took.
 */
export const APPLIED_BUMPS_ANNOTATION = 'tagwarden.io/applied-bumps';
/** Tags remembered per workload at the most (the oldest are dropped). */
const MAX_APPLIED_BUMPS = 32;

export interface Container {
  name: string;
  image?: string | undefined;
  /** Read by the drift observer (`drift.ts`): unset means Kubernetes' default for the reference. */
  imagePullPolicy?: string | undefined;
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
  /** Workloads that already took this bump or a newer one of the tag (a replay): left alone, reported. */
  refused: { kind: WorkloadKind; namespace: string; name: string; reason: string }[];
}

export function podSpecOf(workload: Workload): PodSpec | undefined {
  return workload.kind === 'CronJob'
    ? workload.spec?.jobTemplate?.spec?.template?.spec
    : workload.spec?.template?.spec;
}

/**
 * A container follows the bumped tag when its image names the same registry and repository and either
 * writes the same tag (with or without a digest) or — only when its workload opts in with
 * `FOLLOW_DIGEST_ANNOTATION` — writes no tag and pins the previous digest. A different tag that
 * happens to pin the previous digest is left alone: it promises another name.
 */
export function targetFor(reference: ImageReference, bump: DigestBump, followsDigest = false): string | null {
  if (!namesRepository(reference, bump)) return null;
  const followsTag = reference.tag === bump.tag;
  const pinsPrevious =
    followsDigest &&
    reference.tag === null &&
    bump.previousDigest !== null &&
    reference.digest === bump.previousDigest;
  const pinsCurrent = reference.tag === null && reference.digest === bump.digest;
  if (!followsTag && !pinsPrevious && !pinsCurrent) return null;
  return pinnedReference(reference, bump.tag, bump.digest);
}

export function planBump(bump: DigestBump, workloads: readonly Workload[], options: PlanOptions): Plan {
  const plan: Plan = { patches: [], unchanged: 0, unparsable: [], refused: [] };
  const allowed = options.namespaces === null ? null : new Set(options.namespaces);
  for (const workload of workloads) {
    if (allowed && !allowed.has(workload.metadata.namespace)) continue;
    const pod = podSpecOf(workload);
    if (!pod) continue;
    const pinned = options.mode === 'annotate' ? pinnedImages(workload) : {};
    const followsDigest = workload.metadata.annotations?.[FOLLOW_DIGEST_ANNOTATION] === 'true';
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
      const target = targetFor(reference, bump, followsDigest);
      if (target === null) continue;
      // Already at the new digest (however it is spelled), or already annotated: nothing to do.
      const annotated = options.mode === 'annotate' && pinned[container.name] === target;
      if (reference.digest === bump.digest || annotated) {
        plan.unchanged += 1;
        continue;
      }
      changes.push({ container: container.name, initContainer, from: container.image, to: target });
    }
    if (changes.length === 0) continue;
    const where = {
      kind: workload.kind,
      namespace: workload.metadata.namespace,
      name: workload.metadata.name,
    };
    const applied = appliedBumps(workload);
    const refusal = replayRefusal(bump, applied[appliedKey(bump)]);
    if (refusal) {
      plan.refused.push({ ...where, reason: refusal });
      continue;
    }
    const annotations = {
      ...(options.mode === 'annotate' ? pinnedAnnotation(pinned, changes) : {}),
      [APPLIED_BUMPS_ANNOTATION]: JSON.stringify(withApplied(applied, bump)),
    };
    const patch = options.mode === 'annotate' ? {} : imagePatch(workload.kind, changes);
    plan.patches.push({ ...where, changes, patch: { ...patch, metadata: { annotations } } });
  }
  return plan;
}

interface AppliedBump {
  id: string;
  timestamp: string;
}

function appliedKey(bump: DigestBump): string {
  return `${canonicalHost(bump.registryHost)}/${normalizeRepository(bump.registryHost, bump.repository)}:${bump.tag}`;
}

/** Why a workload refuses this bump: it took this one already, or a newer one of the same tag. */
function replayRefusal(bump: DigestBump, applied: AppliedBump | undefined): string | null {
  if (!applied) return null;
  if (applied.id === bump.id) return `bump ${bump.id} was already applied (replay refused)`;
  if (Date.parse(bump.timestamp) > Date.parse(applied.timestamp)) return null;
  return `bump ${bump.id} (${bump.timestamp}) is not newer than bump ${applied.id} (${applied.timestamp}) already applied (replay refused)`;
}

function withApplied(applied: Record<string, AppliedBump>, bump: DigestBump): Record<string, AppliedBump> {
  const entries = Object.entries({
    ...applied,
    [appliedKey(bump)]: { id: bump.id, timestamp: bump.timestamp },
  })
    .sort(([, a], [, b]) => Date.parse(b.timestamp) - Date.parse(a.timestamp))
    .slice(0, MAX_APPLIED_BUMPS)
    .sort(([a], [b]) => a.localeCompare(b));
  return Object.fromEntries(entries);
}

/** The annotation's entries with a readable id and time; anything else in it is ignored (and rewritten). */
function appliedBumps(workload: Workload): Record<string, AppliedBump> {
  const value = jsonObjectAnnotation(workload, APPLIED_BUMPS_ANNOTATION);
  const applied: Record<string, AppliedBump> = {};
  for (const [key, entry] of Object.entries(value)) {
    if (typeof entry !== 'object' || entry === null) continue;
    const { id, timestamp } = entry as Record<string, unknown>;
    if (typeof id === 'string' && typeof timestamp === 'string' && !Number.isNaN(Date.parse(timestamp)))
      applied[key] = { id, timestamp };
  }
  return applied;
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

function pinnedAnnotation(
  pinned: Record<string, string>,
  changes: ContainerChange[],
): Record<string, string> {
  const merged: Record<string, string> = { ...pinned };
  for (const change of changes) merged[change.container] = change.to;
  const sorted = Object.fromEntries(Object.entries(merged).sort(([a], [b]) => a.localeCompare(b)));
  return { [PINNED_IMAGES_ANNOTATION]: JSON.stringify(sorted) };
}

/** The annotation's current value; a value that is not a JSON object of strings counts as empty (it is rewritten). */
function pinnedImages(workload: Workload): Record<string, string> {
  return Object.fromEntries(
    Object.entries(jsonObjectAnnotation(workload, PINNED_IMAGES_ANNOTATION)).filter(
      (entry): entry is [string, string] => typeof entry[1] === 'string',
    ),
  );
}

/** An annotation holding a JSON object; anything else counts as empty. */
function jsonObjectAnnotation(workload: Workload, name: string): Record<string, unknown> {
  const text = workload.metadata.annotations?.[name];
  if (!text) return {};
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : {};
  } catch {
    return {};
  }
}
