import { ReplayGuard } from '../../functions/local/agent';
import {
  APPLIED_BUMPS_ANNOTATION,
  FOLLOW_DIGEST_ANNOTATION,
  planBump,
  type Workload,
  type WorkloadKind,
} from '../../shared/agent/planner';
import { type DigestBump, signBody } from '../../shared/contracts/cluster-bump/payload';
import {
  bump,
  cronJobObject,
  fakeClusterClient,
  type RunningAgent,
  sendBump,
  startAgentWithFakeKubernetes,
  workloadObject,
} from '../support/agent';
import { runCli, useCliSnapshot } from '../support/cli-process';
import {
  type FakeKind,
  type FakeKubernetes,
  STRATEGIC_MERGE,
  startFakeKubernetes,
} from '../support/fake-kubernetes';
import { rawRequest } from '../support/raw-http';
import { buildCli, eventually } from '../support/tagwarden';

const OLD = `sha256:${'a'.repeat(64)}`;
const NEW = `sha256:${'b'.repeat(64)}`;
const IMAGE = 'registry.example/shop/api';
const bumpOf = (fields: Partial<DigestBump> = {}) =>
  bump({
    registryHost: 'registry.example',
    repository: 'shop/api',
    tag: '1.4.2',
    previousDigest: OLD,
    digest: NEW,
    ...fields,
  });

const RESOURCES: Record<FakeKind, WorkloadKind> = {
  deployments: 'Deployment',
  statefulsets: 'StatefulSet',
  daemonsets: 'DaemonSet',
  cronjobs: 'CronJob',
};

/** A cluster with workloads that follow the tag, one that does not, and one outside the allow-list. */
function seed(kube: FakeKubernetes): void {
  kube.reset();
  kube.put(
    'deployments',
    workloadObject('shop', 'web', [
      { name: 'app', image: `${IMAGE}:1.4.2` },
      { name: 'proxy', image: 'envoyproxy/envoy:v1.30' },
    ]),
  );
  const db = workloadObject(
    'shop',
    'db',
    [{ name: 'db', image: 'postgres:16' }],
    [{ name: 'migrate', image: `${IMAGE}@${OLD}` }],
  );
  // Pinned by digest alone: it follows the tag only because it opts in.
  db.metadata.annotations = { [FOLLOW_DIGEST_ANNOTATION]: 'true' };
  kube.put('statefulsets', db);
  kube.put(
    'daemonsets',
    workloadObject('shop', 'logs', [{ name: 'agent', image: 'registry.example/shop/other:1.4.2' }]),
  );
  kube.put(
    'cronjobs',
    cronJobObject('batch', 'nightly', [{ name: 'report', image: `${IMAGE}:1.4.2@${OLD}` }]),
  );
  kube.put('deployments', workloadObject('kube-system', 'web', [{ name: 'app', image: `${IMAGE}:1.4.2` }]));
}

/** What the pure planner says for the seeded objects: the agent must apply exactly this. */
function expectedPatches(
  kube: FakeKubernetes,
  b: DigestBump,
  namespaces: string[] | null,
  mode: 'patch' | 'annotate' = 'patch',
) {
  const workloads: Workload[] = [];
  for (const [resource, kind] of Object.entries(RESOURCES) as [FakeKind, WorkloadKind][]) {
    for (const [namespace, name] of [
      ['shop', 'web'],
      ['shop', 'db'],
      ['shop', 'logs'],
      ['batch', 'nightly'],
      ['kube-system', 'web'],
    ]) {
      const object = kube.get(resource, namespace!, name!);
      if (object) workloads.push({ kind, metadata: object.metadata, spec: object.spec } as Workload);
    }
  }
  return planBump(b, workloads, { mode, namespaces }).patches.map((p) => ({
    path: `/apis/${p.kind === 'CronJob' ? 'batch' : 'apps'}/v1/namespaces/${p.namespace}/${Object.keys(RESOURCES).find((r) => RESOURCES[r as FakeKind] === p.kind)}/${p.name}`,
    contentType: STRATEGIC_MERGE,
    body: p.patch,
  }));
}

const recordedPatches = (kube: FakeKubernetes) =>
  kube.patches().map((c) => ({ path: c.path, contentType: c.contentType, body: c.body }));

describe('tagwarden agent (in process, real @kubernetes/client-node against a fake API)', () => {
  let agent: RunningAgent;
  beforeAll(async () => {
    agent = await startAgentWithFakeKubernetes({ namespaces: ['shop', 'batch'] });
  });
  afterAll(() => agent.stop());
  beforeEach(() => seed(agent.kube));

  it('applies exactly the planned patches to the workloads that follow the tag, in allowed namespaces only', async () => {
    const b = bumpOf();
    const expected = expectedPatches(agent.kube, b, ['shop', 'batch']);
    expect(expected.map((p) => p.path)).toEqual([
      '/apis/apps/v1/namespaces/shop/deployments/web',
      '/apis/apps/v1/namespaces/shop/statefulsets/db',
      '/apis/batch/v1/namespaces/batch/cronjobs/nightly',
    ]);
    const answer = await agent.send(b);
    expect(answer.status).toBe(200);
    expect(recordedPatches(agent.kube)).toEqual(expected);
    expect(answer.body).toMatchObject({ unchanged: 0, dryRun: false, mode: 'patch' });
    expect(
      answer.body.patched?.map(
        (p) => `${p.kind} ${p.namespace}/${p.name} ${p.changes.map((c) => c.container)}`,
      ),
    ).toEqual(['Deployment shop/web app', 'StatefulSet shop/db migrate', 'CronJob batch/nightly report']);
    // The API server state: pinned, other containers and the other repository untouched.
    const web = agent.kube.get('deployments', 'shop', 'web')!;
    expect(web.spec.template.spec.containers).toEqual([
      { name: 'app', image: `${IMAGE}:1.4.2@${NEW}` },
      { name: 'proxy', image: 'envoyproxy/envoy:v1.30' },
    ]);
    expect(agent.kube.get('statefulsets', 'shop', 'db')!.spec.template.spec.initContainers).toEqual([
      { name: 'migrate', image: `${IMAGE}:1.4.2@${NEW}` },
    ]);
    expect(
      agent.kube.get('cronjobs', 'batch', 'nightly')!.spec.jobTemplate.spec.template.spec.containers[0].image,
    ).toBe(`${IMAGE}:1.4.2@${NEW}`);
    expect(agent.kube.get('daemonsets', 'shop', 'logs')!.spec.template.spec.containers[0].image).toBe(
      'registry.example/shop/other:1.4.2',
    );
    expect(agent.kube.get('deployments', 'kube-system', 'web')!.spec.template.spec.containers[0].image).toBe(
      `${IMAGE}:1.4.2`,
    );
    // Lists only in the allowed namespaces: kube-system is never even read.
    const lists = agent.kube.calls.filter((c) => c.method === 'GET').map((c) => c.path);
    expect(lists).toHaveLength(8);
    expect(lists.every((p) => /\/namespaces\/(shop|batch)\//.test(p))).toBe(true);
    expect(agent.kube.calls.every((c) => c.authorization === `Bearer ${agent.kube.token}`)).toBe(true);
  });

  it('changes nothing on a second identical bump with a new id, and says so', async () => {
    expect((await agent.send(bumpOf())).status).toBe(200);
    const before = agent.kube.patches().length;
    const again = await agent.send(bumpOf());
    expect(again.status).toBe(200);
    expect(again.body).toMatchObject({ patched: [], unchanged: 3 });
    expect(agent.kube.patches()).toHaveLength(before);
  });

  it('refuses a wrong signature with 401 and calls no Kubernetes API', async () => {
    const answer = await agent.send(bumpOf(), { secret: 'not-the-agent-secret-at-all' });
    expect(answer).toEqual({ status: 401, body: { error: 'invalid signature' } });
    const missing = await agent.send(bumpOf(), { headers: { 'X-Tagwarden-Signature': '' } });
    expect(missing.status).toBe(401);
    expect(missing.body.error).toContain('missing X-Tagwarden-Signature');
    expect(agent.kube.calls).toEqual([]);
  });

  it('refuses a body changed after signing', async () => {
    const b = bumpOf();
    const signedFor = JSON.stringify(b);
    const tampered = JSON.stringify({ ...b, namespace: 'x' });
    const answer = await sendBump(`${agent.url}/bump`, agent.secret, b, {
      body: tampered,
      headers: { 'X-Tagwarden-Signature': signBody(agent.secret, signedFor) },
    });
    expect(answer.status).toBe(401);
    expect(agent.kube.calls).toEqual([]);
  });

  it('refuses an old timestamp, a future one, and a header that differs from the signed body', async () => {
    const old = await agent.send(bumpOf({ timestamp: new Date(Date.now() - 301_000).toISOString() }));
    expect(old.status).toBe(401);
    expect(old.body.error).toContain('outside the accepted window of 300 s');
    const future = await agent.send(bumpOf({ timestamp: new Date(Date.now() + 301_000).toISOString() }));
    expect(future.status).toBe(401);
    const mismatch = await agent.send(bumpOf(), {
      headers: { 'X-Tagwarden-Timestamp': new Date().toISOString().replace('Z', '+00:00') },
    });
    expect(mismatch.status).toBe(401);
    expect(mismatch.body.error).toContain("does not equal the signed body's timestamp");
    expect(agent.kube.calls).toEqual([]);
  });

  it('refuses a replayed call with 409 and does not act on it again', async () => {
    const b = bumpOf();
    expect((await agent.send(b)).status).toBe(200);
    seed(agent.kube); // the cluster moved back: a replay would patch again if it were accepted
    const replay = await agent.send(b);
    expect(replay.status).toBe(409);
    expect(replay.body.error).toBe(`bump ${b.id} was already received (replay refused)`);
    expect(agent.kube.calls).toEqual([]);
  });

  it('leaves a workload pinned by digest alone unless it opts in, whoever pushed the tag', async () => {
    agent.kube.reset();
    const pinned = workloadObject('shop', 'pinned', [{ name: 'app', image: `${IMAGE}@${OLD}` }]);
    agent.kube.put('deployments', pinned);
    const answer = await agent.send(bumpOf());
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ patched: [], unchanged: 0 });
    expect(agent.kube.patches()).toEqual([]);
    expect(agent.kube.get('deployments', 'shop', 'pinned')!.spec.template.spec.containers[0].image).toBe(
      `${IMAGE}@${OLD}`,
    );
  });

  it('refuses a captured bump replayed after a restart: the workload remembers the newer bump it took', async () => {
    const first = bumpOf({ id: 'bump-a-to-b', timestamp: new Date(Date.now() - 60_000).toISOString() });
    const second = bumpOf({
      id: 'bump-b-to-c',
      previousDigest: NEW,
      digest: `sha256:${'c'.repeat(64)}`,
      timestamp: new Date(Date.now() - 30_000).toISOString(),
    });
    expect((await agent.send(first)).status).toBe(200);
    expect((await agent.send(second)).status).toBe(200);
    const web = agent.kube.get('deployments', 'shop', 'web')!;
    expect(JSON.parse(web.metadata.annotations[APPLIED_BUMPS_ANNOTATION])).toEqual({
      'registry.example/shop/api:1.4.2': { id: 'bump-b-to-c', timestamp: second.timestamp },
    });
    // A new agent (a restart, or a second replica) has no replay memory; the workloads do.
    const restarted = await startAgentWithFakeKubernetes({ namespaces: ['shop', 'batch'], kube: agent.kube });
    try {
      const patchesBefore = agent.kube.patches().length;
      const older = await restarted.send(first);
      expect(older.status).toBe(409);
      expect(older.body.error).toContain('is not newer than bump bump-b-to-c');
      // The latest one finds every workload already at its digest: nothing to do, nothing done.
      const latest = await restarted.send(second);
      expect(latest.status).toBe(200);
      expect(latest.body).toMatchObject({ patched: [], unchanged: 3 });
      // Moved back by hand, a workload still refuses the bump it already took.
      const movedBack = agent.kube.get('deployments', 'shop', 'web')!;
      movedBack.spec.template.spec.containers[0].image = `${IMAGE}:1.4.2@${NEW}`;
      agent.kube.put('deployments', movedBack);
      const again = await startAgentWithFakeKubernetes({ namespaces: ['shop', 'batch'], kube: agent.kube });
      try {
        const replay = await again.send(second);
        expect(replay.status).toBe(409);
        expect(replay.body.error).toContain(`bump bump-b-to-c was already applied (replay refused)`);
      } finally {
        await again.stop();
      }
      expect(agent.kube.patches()).toHaveLength(patchesBefore);
      expect(agent.kube.get('deployments', 'shop', 'web')!.spec.template.spec.containers[0].image).toBe(
        `${IMAGE}:1.4.2@${NEW}`,
      );
    } finally {
      await restarted.stop();
    }
  });

  it('answers 400 with the reason for a signed body that is not a bump', async () => {
    const bad = await agent.send({ ...bumpOf(), digest: 'sha256:nope' });
    expect(bad.status).toBe(400);
    expect(bad.body.error).toMatch(/^bad bump: digest: digest "sha256:nope" is not a valid digest/);
    const extra = await agent.send({ ...bumpOf(), namespace: 'x' } as DigestBump);
    expect(extra.status).toBe(400);
    const notJson = await agent.send(bumpOf(), { body: '{"id":' });
    expect(notJson.status).toBe(400);
    expect(notJson.body.error).toContain('not valid JSON');
    expect(agent.kube.calls).toEqual([]);
  });

  it('answers 413 to a body over 64 KB, 405 to other methods, 404 elsewhere, and 200 on /healthz', async () => {
    const port = Number(new URL(agent.url).port);
    const large = await rawRequest(
      port,
      `POST /bump HTTP/1.1\r\nHost: x\r\nContent-Length: ${64 * 1024 + 1}\r\nContent-Type: application/json`,
    );
    expect(large.status).toBe(413);
    const chunked = await rawRequest(port, 'POST /bump HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked', {
      chunks: { size: 16 * 1024, count: 8 },
    });
    expect(chunked.status).toBe(413);
    expect((await fetch(`${agent.url}/bump`)).status).toBe(405);
    expect((await fetch(`${agent.url}/other`, { method: 'POST' })).status).toBe(404);
    const health = await fetch(`${agent.url}/healthz`);
    expect([health.status, await health.json()]).toEqual([200, { status: 'ok' }]);
    expect(agent.kube.calls).toEqual([]);
  });

  it('answers 502 when the API refuses a patch, and applies a retry of the same id', async () => {
    agent.kube.failNextPatches(500);
    const b = bumpOf();
    const failed = await agent.send(b);
    expect(failed.status).toBe(502);
    expect(failed.body.error).toBe('1 patch(es) failed');
    expect(JSON.stringify(failed.body)).toContain('Kubernetes API answered 500: injected failure');
    const retry = await agent.send({ ...b, timestamp: new Date().toISOString() });
    expect(retry.status).toBe(200);
    // The retry re-plans: the two that went through are unchanged now, the failed one is patched.
    expect(retry.body).toMatchObject({ unchanged: 2 });
    expect(retry.body.patched).toHaveLength(1);
    expect(agent.kube.get('deployments', 'shop', 'web')!.spec.template.spec.containers[0].image).toBe(
      `${IMAGE}:1.4.2@${NEW}`,
    );
  });
});

describe('tagwarden agent modes', () => {
  let kube: FakeKubernetes;
  beforeAll(async () => {
    kube = await startFakeKubernetes();
  });
  afterAll(() => kube.close());
  beforeEach(() => seed(kube));

  it('--dry-run reports the plan and sends no PATCH', async () => {
    const agent = await startAgentWithFakeKubernetes({ kube, dryRun: true });
    try {
      const answer = await agent.send(bumpOf());
      expect(answer.status).toBe(200);
      expect(answer.body).toMatchObject({ dryRun: true, unchanged: 0 });
      expect(answer.body.patched?.map((p) => `${p.namespace}/${p.name}`)).toEqual([
        'kube-system/web',
        'shop/web',
        'shop/db',
        'batch/nightly',
      ]);
      expect(answer.body.patched?.[1]?.changes).toEqual([
        { container: 'app', initContainer: false, from: `${IMAGE}:1.4.2`, to: `${IMAGE}:1.4.2@${NEW}` },
      ]);
      expect(kube.patches()).toEqual([]);
      // Without an allow-list the agent lists across all namespaces.
      expect(kube.calls.map((c) => c.path)).toEqual([
        '/apis/apps/v1/deployments',
        '/apis/apps/v1/statefulsets',
        '/apis/apps/v1/daemonsets',
        '/apis/batch/v1/cronjobs',
      ]);
    } finally {
      await agent.stop();
    }
  });

  it('--mode annotate patches only the annotation, and a second bump changes nothing', async () => {
    const agent = await startAgentWithFakeKubernetes({ kube, mode: 'annotate', namespaces: ['shop'] });
    try {
      const b = bumpOf();
      const expected = expectedPatches(kube, b, ['shop'], 'annotate');
      const answer = await agent.send(b);
      expect(answer.status).toBe(200);
      expect(recordedPatches(kube)).toEqual(expected);
      expect(kube.patches().map((c) => Object.keys(c.body as object))).toEqual([['metadata'], ['metadata']]);
      const web = kube.get('deployments', 'shop', 'web')!;
      expect(web.metadata.annotations).toEqual({
        'tagwarden.io/pinned-images': JSON.stringify({ app: `${IMAGE}:1.4.2@${NEW}` }),
        [APPLIED_BUMPS_ANNOTATION]: expect.any(String),
      });
      expect(web.spec.template.spec.containers[0].image).toBe(`${IMAGE}:1.4.2`);
      const again = await agent.send(bumpOf());
      expect(again.body).toMatchObject({ patched: [], unchanged: 2 });
      expect(kube.patches()).toHaveLength(2);
    } finally {
      await agent.stop();
    }
  });

  it('lists page by page when the API server paginates', async () => {
    kube.put('deployments', workloadObject('shop', 'api', [{ name: 'app', image: 'nginx' }]));
    kube.setMaxPageSize(1);
    const client = fakeClusterClient(kube);
    const workloads = await client.list(null);
    expect(workloads.map((w) => `${w.kind} ${w.metadata.namespace}/${w.metadata.name}`)).toEqual([
      'Deployment kube-system/web',
      'Deployment shop/api',
      'Deployment shop/web',
      'StatefulSet shop/db',
      'DaemonSet shop/logs',
      'CronJob batch/nightly',
    ]);
    expect(kube.calls.map((c) => `${c.path}${c.query}`).slice(0, 4)).toEqual([
      '/apis/apps/v1/deployments?limit=500',
      '/apis/apps/v1/deployments?continue=1&limit=500',
      '/apis/apps/v1/deployments?continue=2&limit=500',
      '/apis/apps/v1/statefulsets?limit=500',
    ]);
  });
});

describe('tagwarden agent (the real CLI process)', () => {
  let kube: FakeKubernetes;
  let removeSnapshot: () => void;
  beforeAll(async () => {
    buildCli();
    removeSnapshot = useCliSnapshot();
    kube = await startFakeKubernetes();
  }, 120_000);
  afterAll(async () => {
    await kube.close();
    removeSnapshot();
  });
  beforeEach(() => seed(kube));

  it('patches what the planner says, logs each patch as a JSON line, and refuses a wrong signature', async () => {
    const agent = await startAgentWithFakeKubernetes({ kube, process: true, namespaces: ['shop', 'batch'] });
    try {
      expect(agent.output()).toContain('mode patch, namespaces shop,batch');
      const refused = await agent.send(bumpOf(), { secret: 'wrong-secret-wrong-secret' });
      expect(refused.status).toBe(401);
      expect(kube.calls).toEqual([]);
      const b = bumpOf();
      const expected = expectedPatches(kube, b, ['shop', 'batch']);
      const answer = await agent.send(b);
      expect(answer.status).toBe(200);
      expect(recordedPatches(kube)).toEqual(expected);
      expect(expected).toHaveLength(3);
      const logged = agent
        .output()
        .split('\n')
        .filter((line) => line.startsWith('{'))
        .map((line) => JSON.parse(line))
        .filter((line) => line.message === 'patched workload');
      expect(logged.map((l) => [l.kind, l.namespace, l.name, l.eventId, l.digest])).toEqual([
        ['Deployment', 'shop', 'web', b.id, NEW],
        ['StatefulSet', 'shop', 'db', b.id, NEW],
        ['CronJob', 'batch', 'nightly', b.id, NEW],
      ]);
      expect((await agent.send(b)).status).toBe(409);
    } finally {
      await agent.stop();
    }
  });

  it('exits with one line when the secret is missing, too short, or the cluster is not named', () => {
    expect(process.env.TAGWARDEN_AGENT_SECRET).toBeUndefined();
    const noSecret = runCli(['agent', '--kubeconfig', '/nonexistent']);
    expect(noSecret.status).toBe(1);
    expect(noSecret.stderr.trim()).toBe(
      'error: environment variable TAGWARDEN_AGENT_SECRET is not set; it must hold the secret Tagwarden signs bumps with',
    );
    // runCli passes this process's environment on.
    process.env.AGENT_SHORT_SECRET = 'short';
    process.env.AGENT_GOOD_SECRET = 'a-secret-long-enough-for-hmac';
    const saved = process.env.KUBERNETES_SERVICE_HOST;
    delete process.env.KUBERNETES_SERVICE_HOST;
    try {
      const short = runCli(['agent', '--secret-env', 'AGENT_SHORT_SECRET', '--kubeconfig', '/nonexistent']);
      expect([short.status, short.stderr.trim()]).toEqual([
        1,
        'error: the secret in AGENT_SHORT_SECRET is shorter than 16 characters',
      ]);
      const unnamed = runCli(['agent', '--secret-env', 'AGENT_GOOD_SECRET']);
      expect([unnamed.status, unnamed.stderr.trim()]).toEqual([
        1,
        'error: not running in a Kubernetes pod; pass --kubeconfig <file> to name the cluster',
      ]);
      const missing = runCli([
        'agent',
        '--secret-env',
        'AGENT_GOOD_SECRET',
        '--kubeconfig',
        '/nonexistent/kubeconfig',
      ]);
      expect(missing.status).toBe(1);
      expect(missing.stderr.trim()).toMatch(
        /^error: cannot read kubeconfig \/nonexistent\/kubeconfig: .*ENOENT/,
      );
      expect(missing.stderr.split('\n').filter(Boolean)).toHaveLength(1);
    } finally {
      delete process.env.AGENT_SHORT_SECRET;
      delete process.env.AGENT_GOOD_SECRET;
      if (saved !== undefined) process.env.KUBERNETES_SERVICE_HOST = saved;
    }
    const badMode = runCli(['agent', '--mode', 'live']);
    expect(badMode.status).not.toBe(0);
    expect(badMode.stderr).toContain("argument 'live' is invalid. Allowed choices are patch, annotate");
    const badNamespace = runCli(['agent', '--namespaces', 'shop,Bad_NS']);
    expect(badNamespace.stderr).toContain('"Bad_NS" is not a namespace name');
  });
});

describe('the replay memory', () => {
  it('refuses a known id until its timestamp leaves the window, and stays bounded', () => {
    const guard = new ReplayGuard(2);
    expect([guard.claim('a', 1_000, 0), guard.claim('b', 2_000, 0)]).toEqual(['new', 'new']);
    // Claimed and not yet applied: a retry is told to come back, not that it was delivered.
    expect(guard.claim('a', 1_000, 400)).toBe('busy');
    guard.applied('a');
    expect(guard.claim('a', 1_000, 500)).toBe('seen');
    // Full of ids still inside their window: refuse new bumps rather than forget and admit replays.
    expect(guard.claim('c', 3_000, 500)).toBe('full');
    // Once 'a' expired it is pruned to make room.
    expect(guard.claim('c', 3_000, 1_500)).toBe('new');
    expect(guard.size).toBe(2);
    guard.forget('c');
    expect(guard.claim('c', 3_000, 1_600)).toBe('new');
  });

  it('answers a retry that arrives while the first attempt waits on a hung API 503, and applies it once that attempt failed', async () => {
    const kube = await startFakeKubernetes();
    seed(kube);
    const agent = await startAgentWithFakeKubernetes({ kube, namespaces: ['shop'], callTimeoutMs: 2_000 });
    try {
      const held = kube.holdNextPatch();
      const bump = bumpOf();
      const first = agent.send(bump);
      await eventually(async () => (kube.patches().length === 1 ? true : undefined), 'the held patch');
      // The sender timed out and retries the same id: not a replay (409 would count it delivered).
      const retry = await agent.send(bump);
      expect(retry.status).toBe(503);
      expect(retry.body.error).toBe(`bump ${bump.id} is still being applied; retry later`);
      // The API never answers that call: the first attempt fails at the client's deadline (502)...
      expect((await first).status).toBe(502);
      // ...so the id is free again, and the next retry applies the bump (the hung call stays hung).
      const again = await agent.send(bump);
      expect(again.status).toBe(200);
      expect(again.body.patched?.length).toBeGreaterThan(0);
      expect((await agent.send(bump)).status).toBe(409);
      held.release();
    } finally {
      await agent.stop();
      await kube.close();
    }
  }, 30_000);

  it('honours a configured window', async () => {
    const agent = await startAgentWithFakeKubernetes({ windowSeconds: 5 });
    try {
      const old = await agent.send(bumpOf({ timestamp: new Date(Date.now() - 10_000).toISOString() }));
      expect([old.status, old.body.error]).toEqual([401, expect.stringContaining('window of 5 s')]);
      expect((await agent.send(bumpOf())).status).toBe(200);
    } finally {
      await agent.stop();
    }
  });
});
