import type * as K8s from '@kubernetes/client-node';
import { apiStatusError, connectionError, KubernetesApiError } from './api-errors';
import type { Readiness, WorkloadClient } from './apply';
import type { Pod, PodOwner } from './drift';
import type { Workload, WorkloadKind } from './planner';

/**
 * The agent's WorkloadClient over `@kubernetes/client-node` 1.x (AppsV1Api, BatchV1Api; CoreV1Api for pods).
 *
 * The module is passed in rather than imported, so only `tagwarden agent` loads the 15 MB ESM-only
 * client (it is external to the CLI bundle) and every other command starts without it.
 */
export type KubernetesModule = Pick<
  typeof K8s,
  | 'KubeConfig'
  | 'AppsV1Api'
  | 'BatchV1Api'
  | 'CoreV1Api'
  | 'PatchStrategy'
  | 'setHeaderOptions'
  | 'ApiException'
>;

const PAGE_SIZE = 500;
/**
 * How long one call to the API server may take. The client sets no limit, and a call that hangs
 * would hold its bump for good: the sender's retries find it still being applied and never apply it.
 */
export const API_CALL_TIMEOUT_MS = 20_000;
/**
 * Pages one listing may take: 500 000 objects of a kind, past any real cluster. An API server that
 * hands out continue tokens for ever (or anything answering in its name) ends the listing with an
 * error instead of holding the agent in the loop, its memory growing page after page.
 */
export const MAX_LIST_PAGES = 1000;

/**
 * In a pod: the service account (`loadFromCluster`). Elsewhere: the kubeconfig file given; there is no
 * silent fallback to ~/.kube/config, so an agent never patches a cluster nobody named.
 */
export function loadKubeConfig(
  k8s: KubernetesModule,
  options: { kubeconfig?: string | undefined; env?: NodeJS.ProcessEnv },
): K8s.KubeConfig {
  const config = new k8s.KubeConfig();
  if (options.kubeconfig) {
    try {
      config.loadFromFile(options.kubeconfig);
    } catch (error) {
      throw new Error(
        `cannot read kubeconfig ${options.kubeconfig}: ${error instanceof Error ? error.message : String(error)}`,
      );
    }
  } else if ((options.env ?? process.env).KUBERNETES_SERVICE_HOST) config.loadFromCluster();
  else throw new Error('not running in a Kubernetes pod; pass --kubeconfig <file> to name the cluster');
  if (!config.getCurrentCluster())
    throw new Error(`kubeconfig ${options.kubeconfig ?? '(in-cluster)'} has no current cluster`);
  return config;
}

interface Page<T> {
  items: T[];
  metadata?: { _continue?: string | undefined } | undefined;
}
type Lister<T> = (page: {
  namespace: string | null;
  _continue: string | undefined;
  limit?: number;
}) => Promise<Page<T>>;

interface PageParams {
  limit: number;
  _continue?: string;
}

/** One kind's lister: a page across all namespaces, or a page of one namespace. */
function lister<T = WorkloadLike>(
  allNamespaces: (page: PageParams) => Promise<Page<T>>,
  inNamespace: (page: PageParams & { namespace: string }) => Promise<Page<T>>,
  callTimeoutMs: number,
): Lister<T> {
  return ({ namespace, _continue, limit = PAGE_SIZE }) => {
    const page = { limit, ...(_continue ? { _continue } : {}) };
    return inTime(
      namespace === null ? allNamespaces(page) : inNamespace({ namespace, ...page }),
      callTimeoutMs,
    );
  };
}

/** The call's answer, or an error once `ms` have passed without one (the call itself is left to end). */
function inTime<T>(call: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`the API server did not answer within ${ms} ms`)), ms);
  });
  return Promise.race([call, late]).finally(() => clearTimeout(timer));
}

export function kubernetesWorkloadClient(
  k8s: KubernetesModule,
  config: K8s.KubeConfig,
  options: { callTimeoutMs?: number } = {},
): WorkloadClient {
  const callTimeoutMs = options.callTimeoutMs ?? API_CALL_TIMEOUT_MS;
  const apps = config.makeApiClient(k8s.AppsV1Api);
  const batch = config.makeApiClient(k8s.BatchV1Api);
  // 1.x sends application/json-patch+json by default; a strategic merge patch must say so.
  const strategicMerge = k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.StrategicMergePatch);
  const listers: Record<WorkloadKind, Lister<WorkloadLike>> = {
    Deployment: lister(
      (p) => apps.listDeploymentForAllNamespaces(p),
      (p) => apps.listNamespacedDeployment(p),
      callTimeoutMs,
    ),
    StatefulSet: lister(
      (p) => apps.listStatefulSetForAllNamespaces(p),
      (p) => apps.listNamespacedStatefulSet(p),
      callTimeoutMs,
    ),
    DaemonSet: lister(
      (p) => apps.listDaemonSetForAllNamespaces(p),
      (p) => apps.listNamespacedDaemonSet(p),
      callTimeoutMs,
    ),
    CronJob: lister(
      (p) => batch.listCronJobForAllNamespaces(p),
      (p) => batch.listNamespacedCronJob(p),
      callTimeoutMs,
    ),
  };

  const core = config.makeApiClient(k8s.CoreV1Api);
  const podLister = lister<PodLike>(
    (p) => core.listPodForAllNamespaces(p),
    (p) => core.listNamespacedPod(p),
    callTimeoutMs,
  );
  const replicaSetLister = lister<WorkloadLike>(
    (p) => apps.listReplicaSetForAllNamespaces(p),
    (p) => apps.listNamespacedReplicaSet(p),
    callTimeoutMs,
  );
  const jobLister = lister<WorkloadLike>(
    (p) => batch.listJobForAllNamespaces(p),
    (p) => batch.listNamespacedJob(p),
    callTimeoutMs,
  );

  const patchers: Record<
    WorkloadKind,
    (p: { name: string; namespace: string; body: object }) => Promise<unknown>
  > = {
    Deployment: (p) => inTime(apps.patchNamespacedDeployment(p, strategicMerge), callTimeoutMs),
    StatefulSet: (p) => inTime(apps.patchNamespacedStatefulSet(p, strategicMerge), callTimeoutMs),
    DaemonSet: (p) => inTime(apps.patchNamespacedDaemonSet(p, strategicMerge), callTimeoutMs),
    CronJob: (p) => inTime(batch.patchNamespacedCronJob(p, strategicMerge), callTimeoutMs),
  };

  const describe = (error: unknown, what: string, listing: boolean): KubernetesApiError =>
    error instanceof k8s.ApiException
      ? apiStatusError(what, error.code, apiReason(error.body), listing)
      : connectionError(what, error);

  return {
    async list(namespaces) {
      const workloads: Workload[] = [];
      for (const kind of Object.keys(listers) as WorkloadKind[])
        for (const item of await listAll(listers[kind], namespaces, `${kind}s`, describe)) {
          const workload = toWorkload(kind, item);
          if (workload) workloads.push(workload);
        }
      return workloads;
    },
    async running(namespaces) {
      const pods = await listAll(podLister, namespaces, 'Pods', describe);
      const replicaSets = await listAll(replicaSetLister, namespaces, 'ReplicaSets', describe);
      const jobs = await listAll(jobLister, namespaces, 'Jobs', describe);
      return {
        pods: pods.flatMap((pod) => toPod(pod)),
        owners: [
          ...replicaSets.flatMap((item) => toOwner('ReplicaSet', item)),
          ...jobs.flatMap((item) => toOwner('Job', item)),
        ],
      };
    },
    async patch(target, body) {
      try {
        await patchers[target.kind]({ name: target.name, namespace: target.namespace, body });
      } catch (error) {
        throw describe(error, `patching ${target.kind} ${target.namespace}/${target.name}`, false);
      }
    },
    /** One Deployment listed (in the first allowed namespace): the API answers, with TLS, credentials and RBAC. */
    async ready(namespaces): Promise<Readiness> {
      const namespace = namespaces?.[0] ?? null;
      try {
        await listers.Deployment({ namespace, _continue: undefined, limit: 1 });
      } catch (error) {
        const failure = describe(
          error,
          `listing Deployments${namespace === null ? '' : ` in ${namespace}`}`,
          true,
        );
        return { ready: false, source: 'api', error: failure.message, problem: failure.problem };
      }
      return {
        ready: true,
        source: 'api',
        detail: 'the Kubernetes API answers',
      };
    },
  };
}

/** Every item of one kind in these namespaces (null: all), page by page. */
async function listAll<T>(
  list: Lister<T>,
  namespaces: readonly string[] | null,
  what: string,
  describe: (error: unknown, what: string, listing: boolean) => KubernetesApiError,
): Promise<T[]> {
  const items: T[] = [];
  for (const namespace of namespaces ?? [null]) {
    let _continue: string | undefined;
    let pages = 0;
    do {
      if (++pages > MAX_LIST_PAGES)
        throw new KubernetesApiError(
          `listing ${what}${namespace === null ? '' : ` in ${namespace}`}: the API server gave more than ${MAX_LIST_PAGES} pages (continue tokens without end)`,
          null,
        );
      let result: Page<T>;
      try {
        result = await list({ namespace, _continue });
      } catch (error) {
        throw describe(error, `listing ${what}${namespace === null ? '' : ` in ${namespace}`}`, true);
      }
      items.push(...result.items);
      _continue = result.metadata?._continue || undefined;
    } while (_continue);
  }
  return items;
}

/** The fields of V1Pod the drift observer reads. */
interface PodLike {
  metadata?:
    | {
        name?: string | undefined;
        namespace?: string | undefined;
        ownerReferences?: { kind: string; name: string }[] | undefined;
      }
    | undefined;
  // biome-ignore lint/suspicious/noExplicitAny: read as drift.ts's Pod, field by field
  spec?: any;
  // biome-ignore lint/suspicious/noExplicitAny: read as drift.ts's Pod, field by field
  status?: any;
}

function toPod(item: PodLike): Pod[] {
  const name = item.metadata?.name;
  const namespace = item.metadata?.namespace;
  if (!name || !namespace) return [];
  const ownerReferences = (item.metadata?.ownerReferences ?? []).map(({ kind, name }) => ({ kind, name }));
  return [{ metadata: { name, namespace, ownerReferences }, spec: item.spec, status: item.status }];
}

function toOwner(kind: PodOwner['kind'], item: WorkloadLike): PodOwner[] {
  const name = item.metadata?.name;
  const namespace = item.metadata?.namespace;
  if (!name || !namespace) return [];
  const owners = item.metadata?.ownerReferences ?? [];
  const controller = owners.find((ref) => ref.controller) ?? owners[0];
  return [
    { kind, namespace, name, owner: controller ? { kind: controller.kind, name: controller.name } : null },
  ];
}

/** The fields of V1Deployment/V1StatefulSet/V1DaemonSet/V1CronJob the planner reads. */
interface WorkloadLike {
  metadata?:
    | {
        name?: string | undefined;
        namespace?: string | undefined;
        annotations?: Record<string, string> | undefined;
        ownerReferences?: { kind: string; name: string; controller?: boolean | undefined }[] | undefined;
      }
    | undefined;
  // biome-ignore lint/suspicious/noExplicitAny: the four kinds differ in spec shape; toWorkload picks by kind
  spec?: any;
}

function toWorkload(kind: WorkloadKind, item: WorkloadLike): Workload | null {
  const name = item.metadata?.name;
  const namespace = item.metadata?.namespace;
  if (!name || !namespace) return null;
  const metadata = { name, namespace, annotations: item.metadata?.annotations };
  return kind === 'CronJob' ? { kind, metadata, spec: item.spec } : { kind, metadata, spec: item.spec };
}

/** The `message` of a Kubernetes Status body, short; bodies may arrive as text or parsed. */
function apiReason(body: unknown): string {
  let value = body;
  if (typeof body === 'string') {
    try {
      value = JSON.parse(body);
    } catch {
      return body ? `: ${body.slice(0, 200)}` : '';
    }
  }
  const message = (value as { message?: unknown } | null)?.message;
  return typeof message === 'string' ? `: ${message.slice(0, 300)}` : '';
}
