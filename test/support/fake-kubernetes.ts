import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A local HTTP server on 127.0.0.1 speaking the Kubernetes API paths the agent uses: list (all
 * namespaces and namespaced) and strategic-merge PATCH of Deployments, StatefulSets, DaemonSets (apps/v1)
 * and CronJobs (batch/v1), and list of what drift reads: Pods (v1), ReplicaSets and Jobs (with the
 * owner references and container statuses a test puts in them; `podObject` builds one). Strategic merge is applied the way the API server does for what the agent
 * sends: objects merge recursively, `containers`/`initContainers` lists merge by `name`. Every call is
 * recorded. There is no Kubernetes emulator to run here; this is the part that is faked.
 */
/** The four workload kinds the agent lists and patches. */
export type FakeKind = 'deployments' | 'statefulsets' | 'daemonsets' | 'cronjobs';
/** Everything the fake stores: the workload kinds and what drift reads. */
export type FakeResource = FakeKind | 'pods' | 'replicasets' | 'jobs';
const GROUPS: Record<FakeResource, { prefix: string; kind: string; listKind: string }> = {
  pods: { prefix: '/api/v1', kind: 'Pod', listKind: 'PodList' },
  replicasets: { prefix: '/apis/apps/v1', kind: 'ReplicaSet', listKind: 'ReplicaSetList' },
  jobs: { prefix: '/apis/batch/v1', kind: 'Job', listKind: 'JobList' },
  deployments: { prefix: '/apis/apps/v1', kind: 'Deployment', listKind: 'DeploymentList' },
  statefulsets: { prefix: '/apis/apps/v1', kind: 'StatefulSet', listKind: 'StatefulSetList' },
  daemonsets: { prefix: '/apis/apps/v1', kind: 'DaemonSet', listKind: 'DaemonSetList' },
  cronjobs: { prefix: '/apis/batch/v1', kind: 'CronJob', listKind: 'CronJobList' },
};
export const STRATEGIC_MERGE = 'application/strategic-merge-patch+json';

export interface RecordedCall {
  method: string;
  path: string;
  query: string;
  contentType: string | undefined;
  authorization: string | undefined;
  body: unknown;
}

// biome-ignore lint/suspicious/noExplicitAny: a Kubernetes object is arbitrary JSON
export type KubeObject = Record<string, any>;

export interface FakeKubernetes {
  url: string;
  /** The bearer token the fake expects (clients sending another get 401). */
  token: string;
  calls: RecordedCall[];
  patches(): RecordedCall[];
  /** Stores (or replaces) an object; metadata.name and metadata.namespace are required. */
  put(resource: FakeResource, object: KubeObject): void;
  get(resource: FakeResource, namespace: string, name: string): KubeObject | undefined;
  /** Answer the next PATCH calls with this status (for failure tests), once each. */
  failNextPatches(status: number, count?: number): void;
  /** Holds the next PATCH unanswered until `release()` (an API server that hangs); then it is applied. */
  holdNextPatch(): { release(): void };
  /** Return at most this many items per list page (the real server may return fewer than `limit`). */
  setMaxPageSize(size: number): void;
  /** A kubeconfig (YAML) pointing at this server with the token. */
  kubeconfig(): string;
  reset(): void;
  close(): Promise<void>;
}

export async function startFakeKubernetes(): Promise<FakeKubernetes> {
  const token = 'fake-kubernetes-token';
  const objects = new Map<string, KubeObject>();
  const calls: RecordedCall[] = [];
  let failures: number[] = [];
  let holds: Promise<void>[] = [];
  let resourceVersion = 1;
  let maxPageSize = Infinity;
  const key = (resource: FakeResource, namespace: string, name: string) => `${resource}/${namespace}/${name}`;

  const server: Server = createServer((req, res) => {
    readJson(req)
      .then(async (body) => {
        const url = new URL(req.url ?? '/', 'http://localhost');
        const call: RecordedCall = {
          method: req.method ?? '',
          path: url.pathname,
          query: url.search,
          contentType: req.headers['content-type']?.split(';')[0],
          authorization: req.headers.authorization,
          body,
        };
        calls.push(call);
        const answer = (status: number, value: unknown) => {
          const text = JSON.stringify(value);
          res.writeHead(status, { 'Content-Type': 'application/json' });
          res.end(text);
        };
        const status = (code: number, message: string) =>
          answer(code, { kind: 'Status', apiVersion: 'v1', status: 'Failure', message, code });
        if (req.headers.authorization !== `Bearer ${token}`) return status(401, 'Unauthorized');
        const route = parsePath(url.pathname);
        if (!route) return status(404, `the server could not find the requested resource ${url.pathname}`);
        const { resource, namespace, name } = route;
        const group = GROUPS[resource];
        if (req.method === 'GET' && name === null) {
          const items = [...objects.entries()]
            .filter(([k]) => k.startsWith(`${resource}/${namespace === null ? '' : `${namespace}/`}`))
            .sort(([a], [b]) => a.localeCompare(b))
            .map(([, object]) => object);
          // Pages as the API server may: at most `limit`, possibly fewer, with a continue token.
          const limit = Math.min(Number(url.searchParams.get('limit') ?? Infinity) || Infinity, maxPageSize);
          const offset = Number(url.searchParams.get('continue') ?? 0);
          const page = items.slice(offset, offset + limit);
          const more = offset + page.length < items.length;
          return answer(200, {
            kind: group.listKind,
            apiVersion: apiVersionOf(group.prefix),
            metadata: {
              resourceVersion: String(resourceVersion),
              ...(more ? { continue: String(offset + page.length) } : {}),
            },
            items: page,
          });
        }
        if (req.method === 'GET' && name !== null && namespace !== null) {
          const object = objects.get(key(resource, namespace, name));
          return object ? answer(200, object) : status(404, `${resource} "${name}" not found`);
        }
        if (req.method === 'PATCH' && name !== null && namespace !== null) {
          const hold = holds.shift();
          if (hold) await hold;
          const failure = failures.shift();
          if (failure !== undefined) return status(failure, 'injected failure');
          if (call.contentType !== STRATEGIC_MERGE)
            return status(415, `the fake only speaks ${STRATEGIC_MERGE}, got ${call.contentType}`);
          const current = objects.get(key(resource, namespace, name));
          if (!current) return status(404, `${resource} "${name}" not found`);
          if (typeof body !== 'object' || body === null || Array.isArray(body))
            return status(400, 'patch body is not a JSON object');
          const merged = strategicMerge(current, body as KubeObject);
          resourceVersion += 1;
          merged.metadata = { ...merged.metadata, resourceVersion: String(resourceVersion) };
          objects.set(key(resource, namespace, name), merged);
          return answer(200, merged);
        }
        return status(405, `method ${req.method} not allowed on ${url.pathname}`);
      })
      .catch((error: unknown) => {
        res.writeHead(400, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify({ kind: 'Status', message: String(error), code: 400 }));
      });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    url,
    token,
    calls,
    patches: () => calls.filter((c) => c.method === 'PATCH'),
    put(resource, object) {
      const group = GROUPS[resource];
      const stored = structuredClone(object);
      stored.apiVersion ??= apiVersionOf(group.prefix);
      stored.kind ??= group.kind;
      objects.set(key(resource, stored.metadata.namespace, stored.metadata.name), stored);
    },
    get: (resource, namespace, name) => {
      const object = objects.get(key(resource, namespace, name));
      return object ? structuredClone(object) : undefined;
    },
    holdNextPatch() {
      let release = () => {};
      holds.push(new Promise<void>((resolve) => (release = resolve)));
      return { release: () => release() };
    },
    failNextPatches(code, count = 1) {
      failures = [...failures, ...Array<number>(count).fill(code)];
    },
    setMaxPageSize(size) {
      maxPageSize = size;
    },
    kubeconfig: () =>
      [
        'apiVersion: v1',
        'kind: Config',
        'clusters:',
        // Plain HTTP on loopback: the client refuses http:// unless TLS verification is switched off.
        `- name: fake\n  cluster:\n    server: ${url}\n    insecure-skip-tls-verify: true`,
        'users:',
        `- name: agent\n  user:\n    token: ${token}`,
        'contexts:',
        '- name: fake\n  context:\n    cluster: fake\n    user: agent',
        'current-context: fake',
        '',
      ].join('\n'),
    reset() {
      objects.clear();
      calls.length = 0;
      failures = [];
      holds = [];
      maxPageSize = Infinity;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function parsePath(
  path: string,
): { resource: FakeResource; namespace: string | null; name: string | null } | null {
  const match =
    /^(\/api\/v1|\/apis\/apps\/v1|\/apis\/batch\/v1)\/(?:namespaces\/([^/]+)\/)?(deployments|statefulsets|daemonsets|cronjobs|pods|replicasets|jobs)(?:\/([^/]+))?$/.exec(
      path,
    );
  if (!match) return null;
  const resource = match[3] as FakeResource;
  if (GROUPS[resource].prefix !== match[1]) return null;
  const namespace = match[2] ? decodeURIComponent(match[2]) : null;
  const name = match[4] ? decodeURIComponent(match[4]) : null;
  if (name !== null && namespace === null) return null;
  return { resource, namespace, name };
}

function apiVersionOf(prefix: string): string {
  return prefix === '/api/v1' ? 'v1' : prefix.slice('/apis/'.length);
}

export interface FakePodContainer {
  name: string;
  image: string;
  /** As the kubelet reports it: `docker-pullable://host/repo@sha256:…`, `host/repo@sha256:…` or `sha256:…`. */
  imageID: string;
  init?: boolean;
  imagePullPolicy?: string;
}

/** A running Pod owned by `owner` (a ReplicaSet, Job, StatefulSet or DaemonSet), with container statuses. */
export function podObject(
  namespace: string,
  name: string,
  owner: { kind: string; name: string },
  containers: FakePodContainer[],
  phase = 'Running',
): KubeObject {
  const spec = (init: boolean) =>
    containers
      .filter((c) => (c.init ?? false) === init)
      .map(({ name, image, imagePullPolicy }) => ({
        name,
        image,
        ...(imagePullPolicy ? { imagePullPolicy } : {}),
      }));
  const statuses = (init: boolean) =>
    containers
      .filter((c) => (c.init ?? false) === init)
      .map(({ name, image, imageID }) => ({ name, image, imageID, ready: !init, restartCount: 0 }));
  return {
    metadata: {
      name,
      namespace,
      ownerReferences: [
        {
          apiVersion: 'apps/v1',
          kind: owner.kind,
          name: owner.name,
          uid: `${owner.name}-uid`,
          controller: true,
        },
      ],
    },
    spec: { containers: spec(false), initContainers: spec(true) },
    status: { phase, containerStatuses: statuses(false), initContainerStatuses: statuses(true) },
  };
}

/** A ReplicaSet or Job controlled by `owner` (a Deployment or CronJob). */
export function ownedObject(
  namespace: string,
  name: string,
  owner: { kind: string; name: string },
): KubeObject {
  return {
    metadata: {
      name,
      namespace,
      ownerReferences: [
        { apiVersion: 'v1', kind: owner.kind, name: owner.name, uid: `${owner.name}-uid`, controller: true },
      ],
    },
    spec: {},
  };
}

/** Strategic merge as the API server applies it to what the agent sends. */
export function strategicMerge(target: KubeObject, patch: KubeObject): KubeObject {
  const result: KubeObject = structuredClone(target);
  for (const [field, value] of Object.entries(patch)) {
    if (value === null) delete result[field];
    else if ((field === 'containers' || field === 'initContainers') && Array.isArray(value)) {
      const list: KubeObject[] = Array.isArray(result[field]) ? result[field] : [];
      for (const item of value as KubeObject[]) {
        const index = list.findIndex((existing) => existing.name === item.name);
        if (index >= 0) list[index] = strategicMerge(list[index]!, item);
        else list.push(item);
      }
      result[field] = list;
    } else if (typeof value === 'object' && !Array.isArray(value))
      result[field] = strategicMerge(
        typeof result[field] === 'object' && result[field] !== null ? result[field] : {},
        value,
      );
    else result[field] = value;
  }
  return result;
}

function readJson(req: IncomingMessage): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      if (text === '') return resolve(undefined);
      try {
        resolve(JSON.parse(text));
      } catch {
        reject(new Error(`body is not JSON: ${text.slice(0, 100)}`));
      }
    });
    req.on('error', reject);
  });
}
