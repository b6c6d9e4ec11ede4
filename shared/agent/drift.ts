import type { DigestBump } from '../contracts/cluster-bump/payload';
import type { DriftFinding } from '../contracts/drift-report/payload';
import { digestProblem } from '../core';
import {
  canonicalHost,
  type ImageReference,
  normalizeRepository,
  parseImageReference,
} from './image-reference';
import { type Container, type PodSpec, podSpecOf, type Workload, type WorkloadKind } from './planner';

/**
 * The pure half of drift (issue 15): from the workloads and the pods the agent lists, what the pods
 * really run, per workload and container, and what is wrong with it (split, stale, risky). No I/O.
 */
export interface OwnerReference {
  kind: string;
  name: string;
}
export interface ContainerStatus {
  name: string;
  imageID?: string | undefined;
}
export interface Pod {
  metadata: { name: string; namespace: string; ownerReferences?: OwnerReference[] | undefined };
  spec?: PodSpec | undefined;
  status?:
    | {
        phase?: string | undefined;
        containerStatuses?: ContainerStatus[] | undefined;
        initContainerStatuses?: ContainerStatus[] | undefined;
      }
    | undefined;
}
/** A ReplicaSet (owned by a Deployment) or a Job (owned by a CronJob): the middle link to a pod. */
export interface PodOwner {
  kind: 'ReplicaSet' | 'Job';
  namespace: string;
  name: string;
  owner: OwnerReference | null;
}
export interface RunningPods {
  pods: Pod[];
  owners: PodOwner[];
}

export type TagReference = Pick<DigestBump, 'registryHost' | 'repository' | 'tag'>;
export interface ApprovedDigest {
  digest: string;
  bumpId: string;
  timestamp: string;
}

/** Tags remembered at the most; the least recently bumped are dropped first. */
const MAX_APPROVED_TAGS = 10_000;

/** The digest of the last bump the agent accepted, per tag (in memory: a restart forgets it). */
export class ApprovedDigests {
  private readonly byTag = new Map<string, ApprovedDigest>();

  /** Remembers the bump's digest unless a newer bump of the tag is already known (a late replay). */
  accept(bump: DigestBump): void {
    const key = tagKey(bump);
    const known = this.byTag.get(key);
    if (known && Date.parse(known.timestamp) >= Date.parse(bump.timestamp)) return;
    this.byTag.delete(key);
    this.byTag.set(key, { digest: bump.digest, bumpId: bump.id, timestamp: bump.timestamp });
    if (this.byTag.size > MAX_APPROVED_TAGS) this.byTag.delete(this.byTag.keys().next().value as string);
  }

  get(tag: TagReference): ApprovedDigest | null {
    return this.byTag.get(tagKey(tag)) ?? null;
  }
}

export function tagKey(tag: TagReference): string {
  return `${canonicalHost(tag.registryHost)}/${normalizeRepository(tag.registryHost, tag.repository)}:${tag.tag}`;
}

/**
 * The digest in a container status' `imageID`, validated: `docker-pullable://host/repo@sha256:…`,
 * `host/repo@sha256:…` or `sha256:…` alone. Anything else (empty, a bad name, a bad digest) is null.
 */
export function digestOfImageId(imageID: string | undefined): string | null {
  if (!imageID) return null;
  const text = imageID.replace(/^(?:docker-pullable|docker):\/\//, '');
  if (!text.includes('@')) return digestProblem(text) === null ? text : null;
  const reference = parseImageReference(text);
  if ('problem' in reference || reference.digest === null) return null;
  return digestProblem(reference.digest) === null ? reference.digest : null;
}

/** Kubernetes' default when `imagePullPolicy` is unset: `Always` for `:latest` (or no tag), else `IfNotPresent`. */
export function pullPolicy(container: Container, reference: ImageReference): string {
  if (container.imagePullPolicy) return container.imagePullPolicy;
  return reference.tag === 'latest' && reference.digest === null ? 'Always' : 'IfNotPresent';
}

interface Group {
  workload: DriftFinding['workload'];
  container: string;
  reference: ImageReference & { tag: string };
  pods: Map<string, number>;
}

/** Every finding in the allowed namespaces, in a stable order. `approved`: what each tag serves, when known. */
export function observeDrift(
  workloads: readonly Workload[],
  running: RunningPods,
  approved: Pick<ApprovedDigests, 'get'>,
  namespaces: readonly string[] | null,
): DriftFinding[] {
  const inScope = inNamespaces(workloads, namespaces);
  const groups = runningGroups(inScope, running);
  const findings: DriftFinding[] = [];
  for (const group of groups.values()) {
    const tagDigest = approved.get(group.reference)?.digest ?? null;
    const runningDigests = runningOf(group.pods);
    const base = findingBase(group.workload, group.container, group.reference, runningDigests, tagDigest);
    if (group.pods.size > 1) findings.push({ kind: 'split', ...base });
    if (tagDigest !== null && runningDigests.some((entry) => entry.digest !== tagDigest))
      findings.push({ kind: 'stale', ...base });
  }
  for (const workload of inScope) {
    for (const { container, reference } of taggedContainers(podSpecOf(workload))) {
      if (reference.digest !== null || pullPolicy(container, reference) !== 'IfNotPresent') continue;
      const where = workloadOf(workload);
      const group = groups.get(groupKey(where, container.name, reference));
      const tagDigest = approved.get(reference)?.digest ?? null;
      const runningDigests = group ? runningOf(group.pods) : [];
      findings.push({
        kind: 'risky',
        ...findingBase(where, container.name, reference, runningDigests, tagDigest),
      });
    }
  }
  return findings.sort((a, b) => sortKey(a).localeCompare(sortKey(b)));
}

/** The tags the workloads in the allowed namespaces (and their pods) run, each once. */
export function tagsInUse(
  workloads: readonly Workload[],
  running: RunningPods,
  namespaces: readonly string[] | null,
): TagReference[] {
  const tags = new Map<string, TagReference>();
  const add = (reference: TagReference) => tags.set(tagKey(reference), reference);
  for (const workload of inNamespaces(workloads, namespaces))
    for (const { reference } of taggedContainers(podSpecOf(workload))) add(reference);
  for (const { reference } of runningGroups(inNamespaces(workloads, namespaces), running).values())
    add(reference);
  return [...tags.values()];
}

function inNamespaces(workloads: readonly Workload[], namespaces: readonly string[] | null): Workload[] {
  const allowed = namespaces === null ? null : new Set(namespaces);
  return workloads.filter((w) => !allowed || allowed.has(w.metadata.namespace));
}

/** Per workload, container and image reference: how many live pods run each digest. */
function runningGroups(workloads: readonly Workload[], running: RunningPods): Map<string, Group> {
  const byName = new Map(workloads.map((w) => [nameKey(w.kind, w.metadata.namespace, w.metadata.name), w]));
  const middle = new Map(running.owners.map((o) => [nameKey(o.kind, o.namespace, o.name), o.owner]));
  const groups = new Map<string, Group>();
  for (const pod of running.pods) {
    // A finished pod (a completed Job's) no longer runs anything.
    if (pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed') continue;
    const workload = ownerWorkload(pod, byName, middle);
    if (!workload) continue;
    const where = workloadOf(workload);
    const statuses = [...(pod.status?.initContainerStatuses ?? []), ...(pod.status?.containerStatuses ?? [])];
    const images = imagesByName(pod.spec ?? podSpecOf(workload));
    for (const status of statuses) {
      const digest = digestOfImageId(status.imageID);
      const reference = taggedReference(images.get(status.name)?.image);
      if (digest === null || reference === null) continue;
      const key = groupKey(where, status.name, reference);
      let group = groups.get(key);
      if (!group) {
        group = { workload: where, container: status.name, reference, pods: new Map() };
        groups.set(key, group);
      }
      group.pods.set(digest, (group.pods.get(digest) ?? 0) + 1);
    }
  }
  return groups;
}

/** The workload a pod belongs to: StatefulSet/DaemonSet directly, Deployment via its ReplicaSet, CronJob via its Job. */
function ownerWorkload(
  pod: Pod,
  byName: Map<string, Workload>,
  middle: Map<string, OwnerReference | null>,
): Workload | undefined {
  const { namespace } = pod.metadata;
  for (const ref of pod.metadata.ownerReferences ?? []) {
    if (ref.kind === 'StatefulSet' || ref.kind === 'DaemonSet')
      return byName.get(nameKey(ref.kind, namespace, ref.name));
    if (ref.kind !== 'ReplicaSet' && ref.kind !== 'Job') continue;
    const top = middle.get(nameKey(ref.kind, namespace, ref.name));
    const expected = ref.kind === 'ReplicaSet' ? 'Deployment' : 'CronJob';
    if (top?.kind === expected) return byName.get(nameKey(expected, namespace, top.name));
  }
  return undefined;
}

function imagesByName(spec: PodSpec | undefined): Map<string, Container> {
  return new Map([...(spec?.initContainers ?? []), ...(spec?.containers ?? [])].map((c) => [c.name, c]));
}

/** Containers whose image names a tag (a reference pinned by digest alone is never drift). */
function taggedContainers(
  spec: PodSpec | undefined,
): { container: Container; reference: ImageReference & { tag: string } }[] {
  return [...imagesByName(spec).values()].flatMap((container) => {
    const reference = taggedReference(container.image);
    return reference ? [{ container, reference }] : [];
  });
}

function taggedReference(image: string | undefined): (ImageReference & { tag: string }) | null {
  if (!image) return null;
  const reference = parseImageReference(image);
  if ('problem' in reference || reference.tag === null) return null;
  return reference as ImageReference & { tag: string };
}

function runningOf(pods: Map<string, number>): DriftFinding['running'] {
  return [...pods.entries()]
    .sort(([a, x], [b, y]) => y - x || a.localeCompare(b))
    .slice(0, 64)
    .map(([digest, count]) => ({ digest, pods: count }));
}

function findingBase(
  workload: DriftFinding['workload'],
  container: string,
  reference: ImageReference & { tag: string },
  running: DriftFinding['running'],
  tagDigest: string | null,
): Omit<DriftFinding, 'kind'> {
  return {
    workload,
    container,
    registryHost: canonicalHost(reference.registryHost),
    repository: reference.repository,
    tag: reference.tag,
    running,
    tagDigest,
  };
}

function workloadOf(workload: Workload): DriftFinding['workload'] {
  return { kind: workload.kind, namespace: workload.metadata.namespace, name: workload.metadata.name };
}

function nameKey(kind: WorkloadKind | PodOwner['kind'], namespace: string, name: string): string {
  return `${kind}/${namespace}/${name}`;
}

function groupKey(workload: DriftFinding['workload'], container: string, reference: TagReference): string {
  return `${nameKey(workload.kind, workload.namespace, workload.name)}|${container}|${tagKey(reference)}`;
}

function sortKey(finding: DriftFinding): string {
  const { workload, container, kind } = finding;
  return `${workload.namespace}/${workload.kind}/${workload.name}/${container}/${tagKey(finding)}/${kind}`;
}
