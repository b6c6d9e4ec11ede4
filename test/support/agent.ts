/**
 * Start a `tagwarden agent` and a fake Kubernetes API for a test, and send it signed bumps.
 *
 *   const cluster = await startAgentWithFakeKubernetes({ namespaces: ['shop'] });
 *   cluster.kube.put('deployments', deployment('shop', 'web', [{ name: 'app', image: 'registry.example/shop/api:1.4.2' }]));
 *   // point the sender at cluster.url (POST /bump) with cluster.secret, or:
 *   const answer = await cluster.send(bump({ registryHost: 'registry.example', repository: 'shop/api', tag: '1.4.2', … }));
 *   expect(cluster.kube.patches()).toHaveLength(1);  // the recorded PATCH calls (path, content type, body)
 *   await cluster.stop();                             // in afterAll
 *
 * In-process by default (real `@kubernetes/client-node` on the client side, bundled to CommonJS once
 * per test file because jest cannot load the ESM-only package); `{ process: true }` runs the real
 * `tagwarden agent` command instead (call buildCli() first, as e2e suites do).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createAgentServer } from '../../functions/local/agent';
import { type KubernetesModule, kubernetesWorkloadClient } from '../../shared/agent/kubernetes';
import type { AgentMode } from '../../shared/agent/planner';
import {
  type DigestBump,
  SIGNATURE_HEADER,
  signBody,
  TIMESTAMP_HEADER,
} from '../../shared/contracts/cluster-bump/payload';
import { type Logger, silentLogger } from '../../shared/log';
import { type FakeKubernetes, type KubeObject, startFakeKubernetes } from './fake-kubernetes';
import { stopProcess } from './processes';
import { collectOutput, freePort } from './tagwarden';

export const AGENT_SECRET = 'agent-test-secret-0123456789abcdef';
const ROOT = join(__dirname, '..', '..');

export interface StartAgentOptions {
  namespaces?: string[];
  dryRun?: boolean;
  mode?: AgentMode;
  windowSeconds?: number;
  /** Run the built CLI (`node bin/tagwarden.js agent …`) instead of an in-process server. */
  process?: boolean;
  /** Use this fake API instead of starting one (stop() then leaves it running). */
  kube?: FakeKubernetes;
  log?: Logger;
  secret?: string;
  /** With `process: true`: more `tagwarden agent` arguments (e.g. the drift flags). */
  extraArgs?: string[];
  /** In process: how long one Kubernetes API call may take (the client's default otherwise). */
  callTimeoutMs?: number;
}

export interface RunningAgent {
  /** Base URL; bumps go to `${url}/bump`. */
  url: string;
  secret: string;
  kube: FakeKubernetes;
  /** The child's output when started with `process: true`. */
  output: () => string;
  /** Signs and POSTs a bump; `headers` override the signed ones (for negative tests). */
  send(
    bump: DigestBump,
    options?: { headers?: Record<string, string>; secret?: string; body?: string },
  ): Promise<{ status: number; body: AgentAnswer }>;
  stop(): Promise<void>;
}

export interface AgentAnswer {
  error?: string;
  patched?: {
    kind: string;
    namespace: string;
    name: string;
    changes: { container: string; from: string; to: string }[];
  }[];
  unchanged?: number;
  dryRun?: boolean;
  mode?: AgentMode;
}

let kubernetesModule: KubernetesModule | undefined;

/** The real `@kubernetes/client-node` (jest compiles the ESM-only package to CommonJS: jest.config.js). */
export function loadKubernetesModule(): KubernetesModule {
  kubernetesModule ??= require('@kubernetes/client-node') as KubernetesModule;
  return kubernetesModule;
}

/** A WorkloadClient on the real client, talking to a fake API. */
export function fakeClusterClient(kube: FakeKubernetes, options: { callTimeoutMs?: number } = {}) {
  const k8s = loadKubernetesModule();
  const config = new k8s.KubeConfig();
  config.loadFromString(kube.kubeconfig());
  return kubernetesWorkloadClient(k8s, config, options);
}

export async function startAgentWithFakeKubernetes(options: StartAgentOptions = {}): Promise<RunningAgent> {
  const kube = options.kube ?? (await startFakeKubernetes());
  const ownsKube = options.kube === undefined;
  const secret = options.secret ?? AGENT_SECRET;
  const started = await (options.process
    ? startProcess(kube, secret, options)
    : startInProcess(kube, secret, options)
  ).catch(async (error: unknown) => {
    // An agent that did not start leaves no fake API of ours listening.
    if (ownsKube) await kube.close();
    throw error;
  });
  return {
    url: started.url,
    secret,
    kube,
    output: started.output,
    send: (bump, sendOptions = {}) =>
      sendBump(`${started.url}/bump`, sendOptions.secret ?? secret, bump, sendOptions),
    async stop() {
      await started.stop();
      if (ownsKube) await kube.close();
    },
  };
}

async function startInProcess(kube: FakeKubernetes, secret: string, options: StartAgentOptions) {
  const server: Server = createAgentServer({
    secret,
    client: fakeClusterClient(
      kube,
      options.callTimeoutMs === undefined ? {} : { callTimeoutMs: options.callTimeoutMs },
    ),
    log: options.log ?? silentLogger,
    mode: options.mode ?? 'patch',
    namespaces: options.namespaces ?? null,
    dryRun: options.dryRun ?? false,
    ...(options.windowSeconds === undefined ? {} : { windowSeconds: options.windowSeconds }),
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    output: () => '',
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

async function startProcess(kube: FakeKubernetes, secret: string, options: StartAgentOptions) {
  const dir = mkdtempSync(join(tmpdir(), 'tagwarden-agent-'));
  const kubeconfig = join(dir, 'kubeconfig');
  writeFileSync(kubeconfig, kube.kubeconfig());
  const port = await freePort();
  const args = [
    'agent',
    '--port',
    String(port),
    '--kubeconfig',
    kubeconfig,
    '--secret-env',
    'AGENT_TEST_SECRET',
  ];
  if (options.namespaces) args.push('--namespaces', options.namespaces.join(','));
  if (options.dryRun) args.push('--dry-run');
  if (options.mode) args.push('--mode', options.mode);
  if (options.windowSeconds !== undefined) args.push('--window', String(options.windowSeconds));
  args.push(...(options.extraArgs ?? []));
  const env: NodeJS.ProcessEnv = { ...process.env, AGENT_TEST_SECRET: secret };
  delete env.KUBERNETES_SERVICE_HOST;
  const child: ChildProcess = spawn(process.execPath, [join(ROOT, 'bin', 'tagwarden.js'), ...args], {
    cwd: ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output = collectOutput(child);
  // A deadline for a start that will not come, not a wait for one that will (a loaded 2-core CI
  // machine has taken over 10 s); an agent that missed it is stopped, not left running.
  const started = new Promise<string>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`tagwarden agent did not start within 30 s:\n${output()}`)),
      30_000,
    );
    child.stdout!.on('data', () => {
      const match = /Tagwarden agent listening on (http:\/\/\S+)/.exec(output());
      if (match) {
        clearTimeout(timer);
        resolve(match[1]!);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`tagwarden agent exited with ${code}:\n${output()}`));
    });
  });
  const url = await started.catch(async (error: unknown) => {
    await stopProcess(child);
    rmSync(dir, { recursive: true, force: true });
    throw error;
  });
  return {
    url,
    output,
    stop: async () => {
      await stopProcess(child);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Signs `bump` as the contract says and POSTs it. */
export async function sendBump(
  url: string,
  secret: string,
  bump: DigestBump,
  options: { headers?: Record<string, string>; body?: string } = {},
): Promise<{ status: number; body: AgentAnswer }> {
  const body = options.body ?? JSON.stringify(bump);
  const response = await fetch(url, {
    method: 'POST',
    headers: {
      'Content-Type': 'application/json',
      [SIGNATURE_HEADER]: signBody(secret, body),
      [TIMESTAMP_HEADER]: bump.timestamp,
      ...options.headers,
    },
    body,
  });
  return { status: response.status, body: (await response.json()) as AgentAnswer };
}

/** A bump signed now, with a fresh id; fields override. */
export function bump(
  fields: Partial<DigestBump> & Pick<DigestBump, 'registryHost' | 'repository' | 'tag' | 'digest'>,
): DigestBump {
  return {
    id: `bump-${randomUUID()}`,
    previousDigest: null,
    reason: 'moved',
    timestamp: new Date().toISOString(),
    ...fields,
  };
}

type Containers = { name: string; image: string }[];

type ObjectBuilder = (
  namespace: string,
  name: string,
  containers: Containers,
  initContainers?: Containers,
) => KubeObject;

function kubeObject(namespace: string, name: string, spec: object): KubeObject {
  return { metadata: { name, namespace, uid: randomUUID() }, spec };
}

function podSpec(containers: Containers, initContainers: Containers, extra: object = {}): object {
  return { ...extra, containers, ...(initContainers.length > 0 ? { initContainers } : {}) };
}

/** A Deployment/StatefulSet/DaemonSet object as the API returns it. */
export const workloadObject: ObjectBuilder = (namespace, name, containers, initContainers = []) =>
  kubeObject(namespace, name, {
    selector: { matchLabels: { app: name } },
    template: { metadata: { labels: { app: name } }, spec: podSpec(containers, initContainers) },
  });

export const cronJobObject: ObjectBuilder = (namespace, name, containers, initContainers = []) =>
  kubeObject(namespace, name, {
    schedule: '*/5 * * * *',
    jobTemplate: {
      spec: { template: { spec: podSpec(containers, initContainers, { restartPolicy: 'OnFailure' }) } },
    },
  });
