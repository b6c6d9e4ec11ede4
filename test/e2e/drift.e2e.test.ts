import { SqliteHistoryStore } from '../../shared/history';
import { type RunningAgent, startAgentWithFakeKubernetes, workloadObject } from '../support/agent';
import { type FakeKubernetes, ownedObject, podObject } from '../support/fake-kubernetes';
import { type GuardedRegistry, startGuardedRegistry } from '../support/guarded-registry';
import { pushImage } from '../support/images';
import { parsePrometheusText, sampleValue } from '../support/prometheus-text';
import type { RunningRegistry } from '../support/registry';
import type { SlackStub } from '../support/slack-stub';
import { eventually, type RunningTagwarden } from '../support/tagwarden';

/**
 * Loopback, end to end (issue 15): a real docker-registry notifies `tagwarden serve`, whose revert rule
 * puts the overwritten tag back; the real `tagwarden agent` (a process, over the fake Kubernetes API)
 * finds a Deployment whose pods run both digests and reports it, signed, to serve. One alert names
 * both digests, the pod counts and the cluster; repeated reports add nothing; converged pods clear it.
 */
const SECRET = 'e2e-drift-secret-0123456789abcdef';
let guarded: GuardedRegistry;
let registry: RunningRegistry;
let tagwarden: RunningTagwarden;
let slack: SlackStub;
let dbPath: string;
let agent: RunningAgent;

beforeAll(async () => {
  guarded = await startGuardedRegistry({
    rules: `- match: { repository: "payments/*" }
  action: revert
  owners: ["#payments"]`,
    // No rule bumps, so the cluster's url is never called: the entry is there for its secret (reports).
    cluster: { url: 'http://127.0.0.1:9/bump', secret: SECRET },
  });
  ({ registry, tagwarden, slack, dbPath } = guarded);
  agent = await startAgentWithFakeKubernetes({
    process: true,
    namespaces: ['payments'],
    secret: SECRET,
    extraArgs: ['--report-url', tagwarden.url, '--cluster-name', 'e2e', '--report-every', '1'],
  });
}, 90_000);

afterAll(async () => {
  await agent?.stop();
  await guarded?.stop();
});

/** Reads the history file serve writes: the drift rows of the tag and how many reports were received. */
async function driftState(ref: { registryHost: string; repository: string; tag: string }) {
  const store = new SqliteHistoryStore({ path: dbPath });
  try {
    const rows = await store.drift.driftHistory(ref);
    const reports = store.db.prepare('SELECT COUNT(*) AS n FROM drift_reports').get() as { n: number };
    return { rows, reports: reports.n };
  } finally {
    await store.close();
  }
}

/** Deployment payments/api on `image`, its ReplicaSet, and one running pod per digest given. */
function deployment(kube: FakeKubernetes, image: string, digests: string[]): void {
  const object = workloadObject('payments', 'api', [{ name: 'app', image }]);
  object.spec.template.spec.containers[0].imagePullPolicy = 'Always';
  kube.put('deployments', object);
  kube.put('replicasets', ownedObject('payments', 'api-7c9d', { kind: 'Deployment', name: 'api' }));
  digests.forEach((digest, index) => {
    const [repository] = image.split(':1.4.2');
    kube.put(
      'pods',
      podObject('payments', `api-7c9d-${index}`, { kind: 'ReplicaSet', name: 'api-7c9d' }, [
        {
          name: 'app',
          image,
          imageID: `docker-pullable://${repository}@${digest}`,
          imagePullPolicy: 'Always',
        },
      ]),
    );
  });
}

/** One sample of a `/metrics` page (serve's or the agent's). */
async function scraped(base: string, name: string, labels: Record<string, string>) {
  return sampleValue(parsePrometheusText(await (await fetch(`${base}/metrics`)).text()), name, labels);
}

const driftAlerts = () =>
  slack.messages.filter((m) => JSON.stringify(m).includes('Pods run different images'));
const short = (digest: string) => `${digest.slice(0, 'sha256:'.length + 12)}…`;

describe('drift, end to end (registry → serve → agent over the Kubernetes stand-in → serve)', () => {
  test('a split Deployment is alerted once with both digests and pod counts; repeats add nothing; converging clears it', async () => {
    const ref = { registryHost: registry.host, repository: 'payments/api', tag: '1.4.2' };
    const image = `${registry.host}/payments/api:1.4.2`;
    const good = (await pushImage(registry.url, 'payments/api', '1.4.2', 'drift-e2e-good')).digest;
    await eventually(async () => {
      const res = await fetch(`${tagwarden.url}/api/tags/${registry.host}/payments/api:1.4.2`);
      return res.status === 200 ? true : undefined;
    }, 'the first push to be recorded');
    const overwritten = (await pushImage(registry.url, 'payments/api', '1.4.2', 'drift-e2e-bad')).digest;
    await eventually(async () => {
      const res = await fetch(`${tagwarden.url}/api/tags/${registry.host}/payments/api:1.4.2`);
      const body = (await res.json()) as { history: { transition: string }[] };
      return body.history.some((h) => h.transition === 'restored') ? true : undefined;
    }, 'the revert to be recorded');

    // Three pods kept the approved image, two pulled the overwritten one before the revert.
    deployment(agent.kube, image, [good, good, good, overwritten, overwritten]);
    await eventually(async () => (driftAlerts().length > 0 ? true : undefined), 'the drift alert', 30_000);
    const opened = await driftState(ref);
    expect(opened.rows.map((r) => [r.cluster, r.change, r.finding.kind])).toEqual([
      ['e2e', 'opened', 'split'],
    ]);
    const text = JSON.stringify(driftAlerts()[0]);
    expect(text).toContain(
      `Deployment payments/api runs ${short(good)} on 3 pods and ${short(overwritten)} on 2 pods`,
    );
    expect(text).toContain(`the tag serves ${short(good)} (cluster e2e)`);
    expect(text).toContain('#payments');

    // Later rounds resend the same findings (every second here): recorded as received, nothing more.
    await eventually(
      async () => ((await driftState(ref)).reports >= opened.reports + 2 ? true : undefined),
      'two more reports',
    );
    expect((await driftState(ref)).rows).toHaveLength(1);
    expect(driftAlerts()).toHaveLength(1);
    expect(await scraped(agent.url, 'tagwarden_agent_drift_findings', { kind: 'split' })).toBe(1);
    expect(await scraped(tagwarden.url, 'tagwarden_drift_findings_total', { change: 'opened' })).toBe(1);

    // The odd pods are replaced: every pod runs the digest the tag serves, and the finding clears.
    deployment(agent.kube, image, [good, good, good, good, good]);
    const cleared = await eventually(async () => {
      const { rows } = await driftState(ref);
      return rows.length === 2 ? rows : undefined;
    }, 'the finding to clear');
    expect(cleared.map((r) => [r.change, r.key])).toEqual([
      ['opened', opened.rows[0]!.key],
      ['cleared', opened.rows[0]!.key],
    ]);
    const open = (await (await fetch(`${tagwarden.url}/api/drift`)).json()) as { clusters: object };
    expect(open.clusters).toEqual({});
    expect(driftAlerts()).toHaveLength(1);
    expect(await scraped(tagwarden.url, 'tagwarden_drift_findings_total', { change: 'cleared' })).toBe(1);
    const received = await scraped(tagwarden.url, 'tagwarden_drift_reports_total', { outcome: 'recorded' });
    expect(received).toBeGreaterThanOrEqual(opened.reports + 3);
    await eventually(
      async () =>
        (await scraped(agent.url, 'tagwarden_agent_drift_findings', { kind: 'split' })) === 0
          ? true
          : undefined,
      "the agent's gauge to follow its next round",
    );
  }, 90_000);
});
