import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A local HTTP server on 127.0.0.1 speaking the Kubernetes API paths the agent uses: list (all
 * namespaces and namespaced) and strategic-merge PATCH of Deployments, StatefulSets, DaemonSets (apps/v1)
 * and CronJobs (batch/v1). Strategic merge is applied the way the API server does for what the agent
 * sends: objects merge recursively, `containers`/`initContainers` lists merge by `name`. Every call is
 * recorded. There is no Kubernetes emulator to run here; this is the part that is faked.
 */
export type FakeKind = 'deployments' | 'statefulsets' | 'daemonsets' | 'cronjobs';
const GROUPS: Record<FakeKind, { prefix: string; kind: string; listKind: string }> = {
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
  put(resource: FakeKind, object: KubeObject): void;
  get(resource: FakeKind, namespace: string, name: string): KubeObject | undefined;
  /** Answer the next PATCH calls with this status (for failure tests), once each. */
  failNextPatches(status: number, count?: number): void;
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
  let resourceVersion = 1;
  let maxPageSize = Infinity;
  const key = (resource: FakeKind, namespace: string, name: string) => `${resource}/${namespace}/${name}`;

  const server: Server = createServer((req, res) => {
    readJson(req)
      .then((body) => {
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
            apiVersion: group.prefix.slice('/apis/'.length),
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
      stored.apiVersion ??= group.prefix.slice('/apis/'.length);
      stored.kind ??= group.kind;
      objects.set(key(resource, stored.metadata.namespace, stored.metadata.name), stored);
    },
    get: (resource, namespace, name) => {
      const object = objects.get(key(resource, namespace, name));
      return object ? structuredClone(object) : undefined;
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
): { resource: FakeKind; namespace: string | null; name: string | null } | null {
  const match =
    /^\/apis\/(apps|batch)\/v1\/(?:namespaces\/([^/]+)\/)?(deployments|statefulsets|daemonsets|cronjobs)(?:\/([^/]+))?$/.exec(
      path,
    );
  if (!match) return null;
  const resource = match[3] as FakeKind;
  if (GROUPS[resource].prefix !== `/apis/${match[1]}/v1`) return null;
  const namespace = match[2] ? decodeURIComponent(match[2]) : null;
  const name = match[4] ? decodeURIComponent(match[4]) : null;
  if (name !== null && namespace === null) return null;
  return { resource, namespace, name };
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
