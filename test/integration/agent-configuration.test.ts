import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createAgentServer } from '../../functions/local/agent';
import { ClusterSender } from '../../shared/adapters/cluster/sender';
import { kubernetesWorkloadClient } from '../../shared/agent/kubernetes';
import type { DigestBump } from '../../shared/contracts/cluster-bump/payload';
import { PermanentError, TransientError } from '../../shared/core';
import { jsonLogger, type Logger, silentLogger } from '../../shared/log';
import {
  AGENT_SECRET,
  bump,
  loadKubernetesModule,
  sendBump,
  startAgentWithFakeKubernetes,
  workloadObject,
} from '../support/agent';
import { type FakeKubernetes, startFakeKubernetes } from '../support/fake-kubernetes';

/**
 * Issue 13, item 6: a Kubernetes API the agent is set up wrong for (TLS, credentials, RBAC, not the
 * Kubernetes API at all) fails every bump the same way until a person fixes it. The agent answers
 * 424 naming the problem, which the sender treats as permanent, instead of a 502 it retries for
 * minutes; a failure that may pass (a 5xx, a refused connection) stays a 502. `/readyz` says the same.
 */
const OLD = `sha256:${'a'.repeat(64)}`;
const NEW = `sha256:${'b'.repeat(64)}`;
const bumpOf = (): DigestBump =>
  bump({
    registryHost: 'registry.example',
    repository: 'shop/api',
    tag: '1.4.2',
    previousDigest: OLD,
    digest: NEW,
  });

/** A kubeconfig for `server` with `token`; TLS verification stays on unless `skipTls`. */
function kubeconfig(server: string, token: string, skipTls = false): string {
  return [
    'apiVersion: v1',
    'kind: Config',
    `clusters:\n- name: c\n  cluster:\n    server: ${server}${skipTls ? '\n    insecure-skip-tls-verify: true' : ''}`,
    `users:\n- name: u\n  user:\n    token: ${token}`,
    'contexts:\n- name: c\n  context:\n    cluster: c\n    user: u',
    'current-context: c',
    '',
  ].join('\n');
}

interface Agent {
  url: string;
  send(b: DigestBump): Promise<{ status: number; body: Record<string, unknown> }>;
  readyz(): Promise<{ status: number; body: Record<string, unknown> }>;
  stop(): Promise<void>;
}

/** The in-process agent on the real Kubernetes client, with this kubeconfig. */
async function agentWith(config: string, log: Logger = silentLogger): Promise<Agent> {
  const k8s = loadKubernetesModule();
  const kc = new k8s.KubeConfig();
  kc.loadFromString(config);
  const server = createAgentServer({
    secret: AGENT_SECRET,
    client: kubernetesWorkloadClient(k8s, kc),
    log,
    mode: 'patch',
    namespaces: null,
    dryRun: false,
  });
  const url = await listen(server);
  return {
    url,
    send: async (b) => {
      const answer = await sendBump(`${url}/bump`, AGENT_SECRET, b);
      return { status: answer.status, body: answer.body as Record<string, unknown> };
    },
    readyz: async () => {
      const response = await fetch(`${url}/readyz`);
      return { status: response.status, body: (await response.json()) as Record<string, unknown> };
    },
    stop: () => close(server),
  };
}

async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

function close(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.closeAllConnections();
    server.close(() => resolve());
  });
}

/** A server answering every call with this Kubernetes Status code. */
async function statusServer(code: number): Promise<{ url: string; stop: () => Promise<void> }> {
  const server = createServer((_req, res) => {
    res.writeHead(code, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ kind: 'Status', status: 'Failure', message: `status ${code}`, code }));
  });
  const url = await listen(server);
  return { url, stop: () => close(server) };
}

/** What `tagwarden serve`'s sender makes of the agent's answer. */
async function senderVerdict(agentUrl: string): Promise<Error> {
  const sender = new ClusterSender([
    { name: 'prod', url: `${agentUrl}/bump`, format: 'tagwarden', secret: AGENT_SECRET, timeoutMs: 10_000 },
  ]);
  return sender.send('prod', bumpOf()).then(
    (delivered) => new Error(`delivered: ${delivered}`),
    (error: Error) => error,
  );
}

describe('the agent set up wrong for its Kubernetes API answers a permanent failure naming the problem', () => {
  let kube: FakeKubernetes;
  beforeAll(async () => {
    loadKubernetesModule(); // compiled for jest once per file: slow the first time
    kube = await startFakeKubernetes();
    kube.put(
      'deployments',
      workloadObject('shop', 'web', [{ name: 'app', image: 'registry.example/shop/api:1.4.2' }]),
    );
  });
  afterAll(() => kube.close());

  it('a plain-http API server spoken to as https: 424 tls, permanent for the sender, 503 on /readyz', async () => {
    const lines: string[] = [];
    const log = jsonLogger((line) => lines.push(line));
    const agent = await agentWith(kubeconfig(kube.url.replace('http://', 'https://'), kube.token), log);
    try {
      const answer = await agent.send(bumpOf());
      expect(answer.status).toBe(424);
      expect(answer.body.problem).toBe('tls');
      expect(answer.body.error).toMatch(
        /^cluster configuration \(tls\): listing Deployments: TLS with the API server failed \((EPROTO|ERR_SSL_WRONG_VERSION_NUMBER)\): the server did not answer in TLS \(is it plain http spoken to as https\?\)$/,
      );
      const verdict = await senderVerdict(agent.url);
      expect(verdict).toBeInstanceOf(PermanentError);
      expect(verdict.message).toContain(
        'refused the bump with HTTP 424: {"error":"cluster configuration (tls)',
      );
      const ready = await agent.readyz();
      expect(ready).toMatchObject({
        status: 503,
        body: { status: 'not ready', source: 'api', problem: 'tls' },
      });
    } finally {
      await agent.stop();
    }
  });

  it('an http:// server without insecure-skip-tls-verify: 424 tls, saying the client refuses http', async () => {
    const agent = await agentWith(kubeconfig(kube.url, kube.token));
    try {
      const answer = await agent.send(bumpOf());
      expect([answer.status, answer.body.problem]).toEqual([424, 'tls']);
      expect(answer.body.error).toContain(
        "the kubeconfig's server is http://, which the Kubernetes client refuses",
      );
    } finally {
      await agent.stop();
    }
  });

  it('a token the API refuses (401): 424 unauthorized; nothing is patched', async () => {
    const agent = await agentWith(kubeconfig(kube.url, 'not-the-token', true));
    try {
      const answer = await agent.send(bumpOf());
      expect([answer.status, answer.body.problem]).toEqual([424, 'unauthorized']);
      expect(answer.body.error).toContain(
        "listing Deployments: Kubernetes API answered 401: the API server does not accept the agent's credentials",
      );
      expect(await senderVerdict(agent.url)).toBeInstanceOf(PermanentError);
      expect(kube.patches()).toEqual([]);
      expect((await agent.readyz()).body).toMatchObject({ status: 'not ready', problem: 'unauthorized' });
    } finally {
      await agent.stop();
    }
  });

  it.each([
    [403, 'forbidden', 'check its RBAC Role'],
    [404, 'api-not-found', 'is the kubeconfig'],
  ])('a list answered %i: 424 %s', async (code, problem, hint) => {
    const api = await statusServer(code);
    const agent = await agentWith(kubeconfig(api.url, 'token', true));
    try {
      const answer = await agent.send(bumpOf());
      expect([answer.status, answer.body.problem]).toEqual([424, problem]);
      expect(answer.body.error).toContain(`Kubernetes API answered ${code}: status ${code}`);
      expect(answer.body.error).toContain(hint);
      expect(await senderVerdict(agent.url)).toBeInstanceOf(PermanentError);
      expect(await agent.readyz()).toMatchObject({ status: 503, body: { problem } });
    } finally {
      await agent.stop();
      await api.stop();
    }
  });

  it('a patch refused with 403 (RBAC lists but may not patch): 424 forbidden with the report; the id can be retried', async () => {
    const agent = await startAgentWithFakeKubernetes({ kube });
    try {
      kube.failNextPatches(403);
      const b = bumpOf();
      const answer = await agent.send(b);
      expect(answer.status).toBe(424);
      expect(answer.body).toMatchObject({ problem: 'forbidden', patched: [] });
      expect(answer.body.error).toMatch(
        /^cluster configuration \(forbidden\): patching Deployment shop\/web: /,
      );
      // Once RBAC is fixed, `tagwarden retry` sends the same id again: it is applied, not refused as a replay.
      expect((await agent.send({ ...b, timestamp: new Date().toISOString() })).status).toBe(200);
    } finally {
      await agent.stop();
    }
  });
});

describe('failures that may pass stay retryable', () => {
  it('a patch answered 404 (the workload went away since it was listed) or 500: 502, transient', async () => {
    const agent = await startAgentWithFakeKubernetes();
    try {
      for (const code of [404, 500]) {
        agent.kube.reset();
        agent.kube.put(
          'deployments',
          workloadObject('shop', 'web', [{ name: 'app', image: 'registry.example/shop/api:1.4.2' }]),
        );
        agent.kube.failNextPatches(code);
        const answer = await agent.send(bumpOf());
        expect([answer.status, answer.body.error]).toEqual([502, '1 patch(es) failed']);
      }
      agent.kube.failNextPatches(503);
      expect(await senderVerdict(agent.url)).toBeInstanceOf(TransientError);
    } finally {
      await agent.stop();
    }
  });

  it('an API server that refuses connections: 502, and /readyz says not ready without a problem', async () => {
    const api = await statusServer(200);
    await api.stop();
    const agent = await agentWith(kubeconfig(api.url, 'token', true));
    try {
      const answer = await agent.send(bumpOf());
      expect(answer.status).toBe(502);
      expect(answer.body.error).toContain('ECONNREFUSED');
      expect(await senderVerdict(agent.url)).toBeInstanceOf(TransientError);
      expect(await agent.readyz()).toMatchObject({
        status: 503,
        body: { status: 'not ready', problem: null },
      });
    } finally {
      await agent.stop();
    }
  });

  it('/readyz answers 200 when the API answers, /healthz stays 200 either way', async () => {
    const agent = await startAgentWithFakeKubernetes();
    try {
      const ready = await fetch(`${agent.url}/readyz`);
      expect(ready.status).toBe(200);
      expect(await ready.json()).toEqual({
        status: 'ready',
        source: 'api',
        detail: 'the Kubernetes API answers',
      });
      expect(agent.kube.calls.map((c) => `${c.method} ${c.path}${c.query}`)).toEqual([
        'GET /apis/apps/v1/deployments?limit=1',
      ]);
      expect((await fetch(`${agent.url}/readyz`, { method: 'POST' })).status).toBe(405);
      expect((await fetch(`${agent.url}/healthz`)).status).toBe(200);
    } finally {
      await agent.stop();
    }
  });
});
