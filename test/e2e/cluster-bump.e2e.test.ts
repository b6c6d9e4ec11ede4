import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  DigestBump,
  SIGNATURE_HEADER,
  signBody,
  TIMESTAMP_HEADER,
  verifyBodySignature,
} from '../../shared/contracts/cluster-bump/payload';
import { type RunningAgent, startAgentWithFakeKubernetes, workloadObject } from '../support/agent';
import { digestOf } from '../support/events';
import { type GuardedRegistry, startGuardedRegistry } from '../support/guarded-registry';
import { pushImage } from '../support/images';
import type { RunningRegistry } from '../support/registry';
import type { SlackStub } from '../support/slack-stub';
import { eventually, type RunningTagwarden } from '../support/tagwarden';

/**
 * Loopback, end to end: a real docker-registry notifies `tagwarden serve`, whose `latest` rule allows
 * the move and bumps; the bump goes to the real `tagwarden agent` (a process, on a fake Kubernetes API)
 * through a recording relay, so the test can replay the exact call Tagwarden signed.
 */
const SECRET = 'e2e-cluster-secret-0123456789abcdef';
let guarded: GuardedRegistry;
let registry: RunningRegistry;
let tagwarden: RunningTagwarden;
let slack: SlackStub;
let agent: RunningAgent;
let relay: Relay;

interface RelayedCall {
  headers: IncomingHttpHeaders;
  body: Buffer;
  status: number;
}

interface Relay {
  url: string;
  calls: RelayedCall[];
  close(): Promise<void>;
}

/** Forwards POSTs to the agent (`target()`, asked per call) unchanged and records each call with the agent's answer. */
async function startRelay(target: () => string): Promise<Relay> {
  const calls: RelayedCall[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', async () => {
      const body = Buffer.concat(chunks);
      const forwarded = await fetch(target(), {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          [SIGNATURE_HEADER]: String(req.headers[SIGNATURE_HEADER.toLowerCase()] ?? ''),
          [TIMESTAMP_HEADER]: String(req.headers[TIMESTAMP_HEADER.toLowerCase()] ?? ''),
        },
        body,
      });
      const answer = await forwarded.text();
      calls.push({ headers: req.headers, body, status: forwarded.status });
      res.writeHead(forwarded.status, { 'content-type': 'application/json' }).end(answer);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/bump`,
    calls,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

async function post(body: string, headers: Record<string, string>): Promise<string> {
  const response = await fetch(`${agent.url}/bump`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body,
  });
  const answer = (await response.json()) as { error?: string };
  return `${response.status} ${answer.error ?? ''}`;
}

const outboxSettled = () => guarded.outboxSettled();

beforeAll(async () => {
  // The relay is in serve's config, and the agent runs the CLI the set-up builds: it starts in between.
  relay = await startRelay(() => `${agent.url}/bump`);
  guarded = await startGuardedRegistry({
    rules: `- match: { tag: latest }
  action: allow
  bump: true`,
    aliases: false,
    cluster: { url: relay.url, secret: SECRET },
  });
  ({ registry, tagwarden, slack } = guarded);
  agent = await startAgentWithFakeKubernetes({ process: true, namespaces: ['shop'], secret: SECRET });
}, 90_000);

afterAll(async () => {
  await guarded?.stop();
  await relay?.close();
  await agent?.stop();
});

describe('clusters follow the digest (loopback e2e)', () => {
  test('two pushes moving latest produce exactly one signed call, naming the previous and new digest, and the agent pins the workload', async () => {
    const image = `${registry.host}/shop/api`;
    agent.kube.put('deployments', workloadObject('shop', 'web', [{ name: 'app', image: `${image}:latest` }]));

    const first = (await pushImage(registry.url, 'shop/api', 'latest', 'cluster-e2e-1')).digest;
    await eventually(async () => {
      const res = await fetch(`${tagwarden.url}/api/tags/${registry.host}/shop/api:latest`);
      return res.status === 200 ? true : undefined;
    }, 'the first push to be recorded');
    const second = (await pushImage(registry.url, 'shop/api', 'latest', 'cluster-e2e-2')).digest;

    await eventually(async () => (relay.calls.length > 0 ? true : undefined), 'the bump to reach the agent');
    await outboxSettled();

    expect(relay.calls).toHaveLength(1);
    const call = relay.calls[0]!;
    expect(call.status).toBe(200);
    const signature = call.headers[SIGNATURE_HEADER.toLowerCase()] as string;
    expect(verifyBodySignature(SECRET, call.body, signature)).toEqual({ ok: true });
    const bump = DigestBump.parse(JSON.parse(call.body.toString()));
    expect(bump).toMatchObject({
      registryHost: registry.host,
      repository: 'shop/api',
      tag: 'latest',
      previousDigest: first,
      digest: second,
      reason: 'moved',
    });
    expect(call.headers[TIMESTAMP_HEADER.toLowerCase()]).toBe(bump.timestamp);
    expect(bump.id).toMatch(/:cluster=e2e#bump$/);

    const deployment = agent.kube.get('deployments', 'shop', 'web');
    expect(deployment?.spec.template.spec.containers[0].image).toBe(`${image}:latest@${second}`);
    expect(agent.kube.patches()).toHaveLength(1);
    expect(slack.messages).toHaveLength(0);
  }, 60_000);

  test('the agent refuses the same call replayed, a wrong signature and an old timestamp', async () => {
    // A call of its own, signed as Tagwarden signs, so this test needs nothing another one left behind.
    const image = `${registry.host}/shop/replay`;
    agent.kube.put(
      'deployments',
      workloadObject('shop', 'replay', [{ name: 'app', image: `${image}:latest` }]),
    );
    const timestamp = new Date().toISOString();
    const accepted = JSON.stringify({
      id: `replay-${timestamp}:cluster=e2e#bump`,
      registryHost: registry.host,
      repository: 'shop/replay',
      tag: 'latest',
      previousDigest: digestOf('replay-old'),
      digest: digestOf('replay-new'),
      reason: 'moved',
      timestamp,
    } satisfies DigestBump);
    const signed = { [SIGNATURE_HEADER]: signBody(SECRET, accepted), [TIMESTAMP_HEADER]: timestamp };
    expect(await post(accepted, signed)).toBe('200 ');
    const patches = agent.kube.patches().length;
    expect(await post(accepted, signed)).toMatch(/^409 .*replay refused/);

    const bump = DigestBump.parse(JSON.parse(accepted));
    const fresh = JSON.stringify({ ...bump, id: `${bump.id}-other`, timestamp: new Date().toISOString() });
    const freshHeaders = { [TIMESTAMP_HEADER]: JSON.parse(fresh).timestamp as string };
    expect(
      await post(fresh, {
        ...freshHeaders,
        [SIGNATURE_HEADER]: signBody('not-the-secret-0123456789', fresh),
      }),
    ).toMatch(/^401 invalid signature/);

    const oldTime = new Date(Date.now() - 60 * 60_000).toISOString();
    const old = JSON.stringify({ ...bump, id: `${bump.id}-old`, timestamp: oldTime });
    expect(
      await post(old, { [TIMESTAMP_HEADER]: oldTime, [SIGNATURE_HEADER]: signBody(SECRET, old) }),
    ).toMatch(/^401 .*(window|old|timestamp)/i);

    expect(agent.kube.patches()).toHaveLength(patches);
  });
});
