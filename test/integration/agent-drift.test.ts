import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createAgentServer } from '../../functions/local/agent';
import { ApprovedDigests, digestOfImageId, observeDrift, type RunningPods } from '../../shared/agent/drift';
import { fixDrift } from '../../shared/agent/drift-fix';
import { type DriftRound, driftLoop } from '../../shared/agent/drift-loop';
import { buildReport, reportTarget, sendReport } from '../../shared/agent/drift-report';
import { PINNED_IMAGES_ANNOTATION, type Workload } from '../../shared/agent/planner';
import { type DriftFinding, MAX_FINDINGS } from '../../shared/contracts/drift-report/payload';
import { type Logger, silentLogger } from '../../shared/log';
import {
  AGENT_SECRET,
  bump,
  cronJobObject,
  fakeClusterClient,
  sendBump,
  startAgentWithFakeKubernetes,
  workloadObject,
} from '../support/agent';
import { runCli, useCliSnapshot } from '../support/cli-process';
import { type DriftReceiver, startDriftReceiver } from '../support/drift-receiver';
import {
  type FakeKubernetes,
  type FakePodContainer,
  ownedObject,
  podObject,
  startFakeKubernetes,
} from '../support/fake-kubernetes';
import { buildCli } from '../support/tagwarden';

const OLD = `sha256:${'a'.repeat(64)}`;
const NEW = `sha256:${'b'.repeat(64)}`;
const IMAGE = 'registry.example/shop/api';
const TAG = { registryHost: 'registry.example', repository: 'shop/api', tag: '1.4.2' };

/** A Deployment `namespace/name` whose template runs IMAGE:1.4.2 (policy Always, so not risky) and its pods. */
function splitDeployment(kube: FakeKubernetes, namespace: string, name: string, digests: string[]): void {
  const deployment = workloadObject(namespace, name, [{ name: 'app', image: `${IMAGE}:1.4.2` }]);
  deployment.spec.template.spec.containers[0].imagePullPolicy = 'Always';
  kube.put('deployments', deployment);
  kube.put('replicasets', ownedObject(namespace, `${name}-5d9f`, { kind: 'Deployment', name }));
  digests.forEach((digest, index) => {
    const container: FakePodContainer = {
      name: 'app',
      image: `${IMAGE}:1.4.2`,
      imageID: `docker-pullable://${IMAGE}@${digest}`,
      imagePullPolicy: 'Always',
    };
    kube.put(
      'pods',
      podObject(namespace, `${name}-5d9f-${index}`, { kind: 'ReplicaSet', name: `${name}-5d9f` }, [
        container,
      ]),
    );
  });
}

describe('agent drift (real @kubernetes/client-node against the fake API, reports to a loopback receiver)', () => {
  let kube: FakeKubernetes;
  let receiver: DriftReceiver;
  let clock: number;
  beforeAll(async () => {
    kube = await startFakeKubernetes();
    receiver = await startDriftReceiver(AGENT_SECRET);
  });
  afterAll(async () => {
    await kube.close();
    await receiver.close();
  });
  beforeEach(() => {
    kube.reset();
    receiver.reports.length = 0;
    receiver.refused.length = 0;
    clock = Date.parse('2026-12-01T12:00:00Z');
  });

  function loop(
    options: { fix?: boolean; approved?: ApprovedDigests; namespaces?: string[] | null; log?: Logger } = {},
  ) {
    return driftLoop({
      client: fakeClusterClient(kube),
      approved: options.approved ?? new ApprovedDigests(),
      log: options.log ?? silentLogger,
      cluster: 'prod-eu',
      send: (report) => sendReport(reportTarget(receiver.url), AGENT_SECRET, report),
      reportEveryMs: 300_000,
      fix: options.fix ?? false,
      mode: 'patch',
      dryRun: false,
      namespaces: options.namespaces === undefined ? ['shop'] : options.namespaces,
      now: () => clock,
    });
  }

  it('reports a split Deployment once, signed, with one split finding naming both digests and pod counts', async () => {
    splitDeployment(kube, 'shop', 'api', [OLD, OLD, OLD, NEW, NEW]);
    const round = await loop().round();
    expect(round.sent).toBe(true);
    expect(receiver.refused).toEqual([]);
    expect(receiver.paths).toContain('/webhooks/agent');
    expect(receiver.reports).toHaveLength(1);
    const [report] = receiver.reports;
    expect(report).toMatchObject({ cluster: 'prod-eu', namespaces: ['shop'], truncated: false });
    expect(report!.findings).toEqual([
      {
        kind: 'split',
        workload: { kind: 'Deployment', namespace: 'shop', name: 'api' },
        container: 'app',
        ...TAG,
        running: [
          { digest: OLD, pods: 3 },
          { digest: NEW, pods: 2 },
        ],
        tagDigest: null,
      },
    ]);
  });

  it('sends nothing on a repeat round until the interval, then the same findings again', async () => {
    splitDeployment(kube, 'shop', 'api', [OLD, NEW]);
    const drift = loop();
    expect((await drift.round()).sent).toBe(true);
    clock += 60_000;
    expect((await drift.round()).sent).toBe(false);
    expect(receiver.reports).toHaveLength(1);
    clock += 240_000;
    expect((await drift.round()).sent).toBe(true);
    expect(receiver.reports).toHaveLength(2);
    expect(receiver.reports[1]!.findings).toEqual(receiver.reports[0]!.findings);
    expect(receiver.reports[1]!.id).not.toBe(receiver.reports[0]!.id);
  });

  it('sends a report without the finding as soon as the split clears', async () => {
    splitDeployment(kube, 'shop', 'api', [OLD, NEW]);
    const drift = loop();
    await drift.round();
    kube.reset();
    splitDeployment(kube, 'shop', 'api', [NEW, NEW]);
    clock += 30_000;
    expect((await drift.round()).sent).toBe(true);
    expect(receiver.reports).toHaveLength(2);
    expect(receiver.reports[1]!.findings).toEqual([]);
  });

  it('logs a failed report and sends it the next round, without throwing', async () => {
    splitDeployment(kube, 'shop', 'api', [OLD, NEW]);
    const warnings: string[] = [];
    const log: Logger = {
      ...silentLogger,
      warn: (message, fields) => warnings.push(`${message} ${JSON.stringify(fields)}`),
    };
    const drift = loop({ log });
    receiver.failNext(503);
    const failed: DriftRound = await drift.round();
    expect(failed).toMatchObject({ sent: false, error: expect.stringContaining('answered 503') });
    expect(warnings.join('\n')).toContain('drift report failed');
    clock += 30_000;
    expect((await drift.round()).sent).toBe(true);
    expect(receiver.reports).toHaveLength(1);
  });

  it('finds stale pods against the last accepted bump, and risky IfNotPresent tags (set or defaulted)', async () => {
    kube.put('deployments', workloadObject('shop', 'web', [{ name: 'app', image: `${IMAGE}:1.4.2` }]));
    kube.put('replicasets', ownedObject('shop', 'web-1', { kind: 'Deployment', name: 'web' }));
    kube.put(
      'pods',
      podObject('shop', 'web-1-a', { kind: 'ReplicaSet', name: 'web-1' }, [
        { name: 'app', image: `${IMAGE}:1.4.2`, imageID: `${IMAGE}@${OLD}` },
      ]),
    );
    const approved = new ApprovedDigests();
    approved.accept(bump({ ...TAG, digest: NEW }));
    const { findings } = await loop({ approved }).round();
    const running = [{ digest: OLD, pods: 1 }];
    expect(findings.map((f) => [f.kind, f.running, f.tagDigest])).toEqual([
      ['risky', running, NEW],
      ['stale', running, NEW],
    ]);
  });

  it('reads the three imageID forms, follows StatefulSet, DaemonSet and CronJob pods, and ignores digest-only pins and other namespaces', async () => {
    const statefulSet = workloadObject(
      'shop',
      'db',
      [{ name: 'db', image: `${IMAGE}:1.4.2` }],
      [{ name: 'migrate', image: `${IMAGE}:1.4.2` }],
    );
    kube.put('statefulsets', statefulSet);
    kube.put(
      'pods',
      podObject('shop', 'db-0', { kind: 'StatefulSet', name: 'db' }, [
        {
          name: 'migrate',
          image: `${IMAGE}:1.4.2`,
          imageID: `docker-pullable://${IMAGE}@${OLD}`,
          init: true,
        },
        { name: 'db', image: `${IMAGE}:1.4.2`, imageID: `${IMAGE}@${OLD}` },
      ]),
    );
    kube.put(
      'pods',
      podObject('shop', 'db-1', { kind: 'StatefulSet', name: 'db' }, [
        { name: 'migrate', image: `${IMAGE}:1.4.2`, imageID: NEW, init: true },
        { name: 'db', image: `${IMAGE}:1.4.2`, imageID: 'docker-pullable://not a reference@sha256:zz' },
      ]),
    );
    kube.put('daemonsets', workloadObject('shop', 'logs', [{ name: 'log', image: `${IMAGE}@${OLD}` }]));
    kube.put(
      'pods',
      podObject('shop', 'logs-x', { kind: 'DaemonSet', name: 'logs' }, [
        { name: 'log', image: `${IMAGE}@${OLD}`, imageID: NEW },
      ]),
    );
    kube.put('cronjobs', cronJobObject('shop', 'nightly', [{ name: 'report', image: `${IMAGE}:1.4.2` }]));
    kube.put('jobs', ownedObject('shop', 'nightly-29000', { kind: 'CronJob', name: 'nightly' }));
    for (const [name, digest] of [
      ['a', OLD],
      ['b', NEW],
    ] as const)
      kube.put(
        'pods',
        podObject('shop', `nightly-29000-${name}`, { kind: 'Job', name: 'nightly-29000' }, [
          { name: 'report', image: `${IMAGE}:1.4.2`, imageID: digest, imagePullPolicy: 'Always' },
        ]),
      );
    kube.put(
      'pods',
      podObject(
        'shop',
        'nightly-28000-z',
        { kind: 'Job', name: 'nightly-29000' },
        [{ name: 'report', image: `${IMAGE}:1.4.2`, imageID: `sha256:${'c'.repeat(64)}` }],
        'Succeeded',
      ),
    );
    splitDeployment(kube, 'kube-system', 'api', [OLD, NEW]);
    const { findings } = await loop().round();
    const splits = findings.filter((f) => f.kind === 'split');
    expect(splits.map((f) => [f.workload.kind, f.workload.name, f.container, f.running])).toEqual([
      [
        'CronJob',
        'nightly',
        'report',
        [
          { digest: OLD, pods: 1 },
          { digest: NEW, pods: 1 },
        ],
      ],
      [
        'StatefulSet',
        'db',
        'migrate',
        [
          { digest: NEW, pods: 1 },
          { digest: OLD, pods: 1 },
        ].sort((a, b) => a.digest.localeCompare(b.digest)),
      ],
    ]);
    // db's unreadable imageID counts nowhere; logs pins a digest alone; kube-system is not ours.
    expect(findings.find((f) => f.workload.name === 'db' && f.container === 'db')?.running).toEqual([
      { digest: OLD, pods: 1 },
    ]);
    expect(findings.some((f) => f.workload.name === 'logs' || f.workload.namespace !== 'shop')).toBe(false);
  });

  it('--fix drift pins exactly the split workload to the approved digest, nothing in other namespaces, once', async () => {
    splitDeployment(kube, 'shop', 'api', [OLD, NEW]);
    splitDeployment(kube, 'kube-system', 'api', [OLD, NEW]);
    kube.put('deployments', workloadObject('shop', 'quiet', [{ name: 'app', image: `${IMAGE}:1.4.2` }]));
    const approved = new ApprovedDigests();
    approved.accept(bump({ ...TAG, digest: NEW }));
    const drift = loop({ fix: true, approved });
    await drift.round();
    expect(kube.patches().map((call) => call.path)).toEqual([
      '/apis/apps/v1/namespaces/shop/deployments/api',
    ]);
    expect(kube.get('deployments', 'shop', 'api')!.spec.template.spec.containers[0].image).toBe(
      `${IMAGE}:1.4.2@${NEW}`,
    );
    expect(kube.get('deployments', 'kube-system', 'api')!.spec.template.spec.containers[0].image).toBe(
      `${IMAGE}:1.4.2`,
    );
    clock += 30_000;
    await drift.round(); // the pods have not rolled yet: still split, but the template is pinned
    expect(kube.patches()).toHaveLength(1);
  });

  it('--fix drift with --mode annotate records the pin only; with --dry-run patches nothing; without an approved digest does nothing', async () => {
    splitDeployment(kube, 'shop', 'api', [OLD, NEW]);
    const approved = new ApprovedDigests();
    await loop({ fix: true }).round();
    expect(kube.patches()).toHaveLength(0);
    approved.accept(bump({ ...TAG, digest: NEW }));
    const dry = driftLoop({ ...loopOptions(), approved, fix: true, dryRun: true });
    await dry.round();
    expect(kube.patches()).toHaveLength(0);
    const annotate = driftLoop({ ...loopOptions(), approved, fix: true, mode: 'annotate' });
    await annotate.round();
    expect(kube.patches()).toHaveLength(1);
    const api = kube.get('deployments', 'shop', 'api')!;
    expect(api.spec.template.spec.containers[0].image).toBe(`${IMAGE}:1.4.2`);
    expect(JSON.parse(api.metadata.annotations[PINNED_IMAGES_ANNOTATION])).toEqual({
      app: `${IMAGE}:1.4.2@${NEW}`,
    });
  });

  function loopOptions() {
    return {
      client: fakeClusterClient(kube),
      approved: new ApprovedDigests(),
      log: silentLogger,
      cluster: 'prod-eu',
      send: null,
      reportEveryMs: 300_000,
      fix: false,
      mode: 'patch' as const,
      dryRun: false,
      namespaces: ['shop'],
      now: () => clock,
    };
  }

  it('learns the approved digest from each bump the agent server accepts, never from a refused one or an older one', async () => {
    const approved = new ApprovedDigests();
    const server: Server = createAgentServer({
      secret: AGENT_SECRET,
      client: fakeClusterClient(kube),
      log: silentLogger,
      mode: 'patch',
      namespaces: ['shop'],
      dryRun: false,
      approved,
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/bump`;
    try {
      const forged = await sendBump(url, 'another-secret-0123456789', bump({ ...TAG, digest: OLD }));
      expect(forged.status).toBe(401);
      expect(approved.get(TAG)).toBeNull();
      const newer = bump({ ...TAG, digest: NEW });
      expect((await sendBump(url, AGENT_SECRET, newer)).status).toBe(200);
      const older = bump({ ...TAG, digest: OLD, timestamp: new Date(Date.now() - 60_000).toISOString() });
      expect((await sendBump(url, AGENT_SECRET, older)).status).toBe(200);
      expect(approved.get({ ...TAG, registryHost: 'REGISTRY.example' })?.digest).toBe(NEW);
    } finally {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});

describe('tagwarden agent --report-url (the real CLI process)', () => {
  let kube: FakeKubernetes;
  let receiver: DriftReceiver;
  let removeSnapshot: () => void;
  beforeAll(async () => {
    buildCli();
    removeSnapshot = useCliSnapshot();
    kube = await startFakeKubernetes();
    receiver = await startDriftReceiver(AGENT_SECRET);
  }, 120_000);
  afterAll(async () => {
    await kube.close();
    await receiver.close();
    removeSnapshot();
  });

  it('sends a signed report of the split Deployment shortly after start, under its cluster name', async () => {
    splitDeployment(kube, 'shop', 'api', [OLD, NEW, NEW]);
    const agent = await startAgentWithFakeKubernetes({
      kube,
      process: true,
      namespaces: ['shop'],
      extraArgs: ['--report-url', receiver.url, '--cluster-name', 'prod-eu', '--report-every', '1'],
    });
    try {
      expect(agent.output()).toContain(`drift reports to ${new URL(receiver.url).host} as prod-eu`);
      const deadline = Date.now() + 15_000;
      while (receiver.reports.length === 0 && Date.now() < deadline)
        await new Promise((resolve) => setTimeout(resolve, 100));
      expect(receiver.refused).toEqual([]);
      expect(receiver.reports[0]?.cluster).toBe('prod-eu');
      expect(receiver.reports[0]?.findings.map((f) => [f.kind, f.workload.name, f.running])).toEqual([
        [
          'split',
          'api',
          [
            { digest: NEW, pods: 2 },
            { digest: OLD, pods: 1 },
          ],
        ],
      ]);
    } finally {
      await agent.stop();
    }
  });

  it('exits with one line when the drift flags do not fit together', () => {
    const cases: [string[], string][] = [
      [['--report-url', 'https://tagwarden.example'], 'error: --report-url needs --cluster-name'],
      [['--cluster-name', 'prod-eu'], 'error: --cluster-name needs --report-url'],
      [['--report-url', 'ftp://x', '--cluster-name', 'prod-eu'], 'error: --report-url must be http or https'],
      [
        ['--dry-run', '--manifests', '/nonexistent', '--fix', 'drift'],
        'error: --report-url and --fix drift read pods',
      ],
    ];
    process.env.AGENT_GOOD_SECRET = 'a-secret-long-enough-for-hmac';
    try {
      for (const [args, start] of cases) {
        const result = runCli(['agent', '--secret-env', 'AGENT_GOOD_SECRET', ...args]);
        expect(result.status).toBe(1);
        expect(result.stderr.trim().startsWith(start)).toBe(true);
        expect(result.stderr.trim().split('\n')).toHaveLength(1);
      }
    } finally {
      delete process.env.AGENT_GOOD_SECRET;
    }
    expect(runCli(['agent', '--fix', 'everything']).stderr).toContain('Allowed choices are drift');
    expect(runCli(['agent', '--cluster-name', 'Prod_EU']).stderr).toContain('expected a cluster name');
  });
});

describe('drift never leaves its namespaces nor moves a digest-only pin, whatever it is handed', () => {
  const deployment = (namespace: string, image: string): Workload => ({
    kind: 'Deployment',
    metadata: { name: 'api', namespace },
    spec: { template: { spec: { containers: [{ name: 'app', image, imagePullPolicy: 'Always' }] } } },
  });
  const pods = (namespace: string, image: string): RunningPods => ({
    owners: [{ kind: 'ReplicaSet', namespace, name: 'api-1', owner: { kind: 'Deployment', name: 'api' } }],
    pods: [OLD, NEW].map((digest, i) => ({
      metadata: { name: `api-1-${i}`, namespace, ownerReferences: [{ kind: 'ReplicaSet', name: 'api-1' }] },
      spec: { containers: [{ name: 'app', image }] },
      status: { phase: 'Running', containerStatuses: [{ name: 'app', imageID: digest }] },
    })),
  });

  it('observes nothing outside the allowed namespaces even when the listing returns it', () => {
    const found = observeDrift(
      [deployment('kube-system', `${IMAGE}:1.4.2`)],
      pods('kube-system', `${IMAGE}:1.4.2`),
      new ApprovedDigests(),
      ['shop'],
    );
    expect(found).toEqual([]);
    expect(
      observeDrift(
        [deployment('shop', `${IMAGE}:1.4.2`)],
        pods('shop', `${IMAGE}:1.4.2`),
        new ApprovedDigests(),
        ['shop'],
      ),
    ).toHaveLength(1);
  });

  it('patches neither a workload of another namespace nor a digest-only pin named by a finding', async () => {
    const approved = new ApprovedDigests();
    approved.accept(bump({ ...TAG, digest: NEW }));
    const patched: string[] = [];
    const client = {
      list: async () => [],
      running: async () => ({ pods: [], owners: [] }),
      ready: async () => ({ ready: true as const, source: 'api' as const, detail: '' }),
      patch: async (target: { namespace: string; name: string }) => {
        patched.push(`${target.namespace}/${target.name}`);
      },
    };
    const finding = (namespace: string): DriftFinding => ({
      kind: 'split',
      workload: { kind: 'Deployment', namespace, name: 'api' },
      container: 'app',
      ...TAG,
      running: [
        { digest: OLD, pods: 1 },
        { digest: NEW, pods: 1 },
      ],
      tagDigest: NEW,
    });
    const options = { mode: 'patch' as const, dryRun: false, namespaces: ['shop'] };
    await fixDrift(
      client,
      [finding('kube-system')],
      [deployment('kube-system', `${IMAGE}:1.4.2`)],
      approved,
      options,
      silentLogger,
    );
    await fixDrift(
      client,
      [finding('shop')],
      [deployment('shop', `${IMAGE}@${OLD}`)],
      approved,
      options,
      silentLogger,
    );
    expect(patched).toEqual([]);
    await fixDrift(
      client,
      [finding('shop')],
      [deployment('shop', `${IMAGE}:1.4.2`)],
      approved,
      options,
      silentLogger,
    );
    expect(patched).toEqual(['shop/api']);
  });
});

describe('drift pieces', () => {
  it('takes the digest from each imageID form and refuses anything the grammar does not accept', () => {
    expect(digestOfImageId(`docker-pullable://${IMAGE}@${OLD}`)).toBe(OLD);
    expect(digestOfImageId(`${IMAGE}@${OLD}`)).toBe(OLD);
    expect(digestOfImageId(OLD)).toBe(OLD);
    expect(digestOfImageId(`docker-pullable://docker.io/library/nginx@${NEW}`)).toBe(NEW);
    for (const bad of [
      undefined,
      '',
      'sha256:abc',
      `sha256:${'A'.repeat(64)}`,
      `docker-pullable://Bad Name@${OLD}`,
      `${IMAGE}:1.4.2`,
      `docker-pullable://${IMAGE}@sha256:${'a'.repeat(63)}`,
      `md5:${'a'.repeat(32)}`,
    ])
      expect(digestOfImageId(bad)).toBeNull();
  });

  it('posts to /webhooks/agent under a base URL, or to the full URL as given; refuses other schemes', () => {
    expect(reportTarget('https://tagwarden.example').href).toBe('https://tagwarden.example/webhooks/agent');
    expect(reportTarget('https://tagwarden.example/tw/').href).toBe(
      'https://tagwarden.example/tw/webhooks/agent',
    );
    expect(reportTarget('https://tagwarden.example/webhooks/agent').href).toBe(
      'https://tagwarden.example/webhooks/agent',
    );
    expect(() => reportTarget('ftp://tagwarden.example')).toThrow('http or https');
    expect(() => reportTarget('tagwarden')).toThrow('is not a URL');
  });

  it('sends at most MAX_FINDINGS findings and says it truncated', () => {
    const finding: DriftFinding = {
      kind: 'risky',
      workload: { kind: 'Deployment', namespace: 'shop', name: 'api' },
      container: 'app',
      ...TAG,
      running: [],
      tagDigest: null,
    };
    const many = Array.from({ length: MAX_FINDINGS + 1 }, (_, i) => ({ ...finding, container: `c${i}` }));
    const report = buildReport('prod-eu', null, many, 0);
    expect(report.findings).toHaveLength(MAX_FINDINGS);
    expect(report.truncated).toBe(true);
    expect(buildReport('prod-eu', null, many.slice(1), 0).truncated).toBe(false);
  });
});
