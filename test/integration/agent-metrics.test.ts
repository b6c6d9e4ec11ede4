import { METRICS_TOKEN_ENV } from '../../functions/local/agent-command';
import { AgentMetrics } from '../../functions/local/metrics-agent';
import type { DigestBump } from '../../shared/contracts/cluster-bump/payload';
import { bump, type RunningAgent, startAgentWithFakeKubernetes, workloadObject } from '../support/agent';
import { allSamples, parsePrometheusText, sampleValue } from '../support/prometheus-text';
import { buildCli } from '../support/tagwarden';

const METRICS_TOKEN = 'agent-metrics-token-0123456789';
const OLD = `sha256:${'a'.repeat(64)}`;
const NEW = `sha256:${'b'.repeat(64)}`;
const bumpOf = (fields: Partial<DigestBump> = {}) =>
  bump({
    registryHost: 'registry.example',
    repository: 'shop/api',
    tag: '1.4.2',
    previousDigest: OLD,
    digest: NEW,
    ...fields,
  });

let agent: RunningAgent;
const savedToken = process.env[METRICS_TOKEN_ENV];

beforeAll(async () => {
  buildCli();
  // The real `tagwarden agent` reads its metrics token from the environment it inherits.
  process.env[METRICS_TOKEN_ENV] = METRICS_TOKEN;
  agent = await startAgentWithFakeKubernetes({ process: true, namespaces: ['shop'] });
}, 60_000);

afterAll(async () => {
  await agent?.stop();
  if (savedToken === undefined) delete process.env[METRICS_TOKEN_ENV];
  else process.env[METRICS_TOKEN_ENV] = savedToken;
});

async function scrape() {
  const res = await fetch(`${agent.url}/metrics`, { headers: { Authorization: `Bearer ${METRICS_TOKEN}` } });
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
  return parsePrometheusText(await res.text());
}

describe('tagwarden agent GET /metrics', () => {
  it('counts one bump: received, the container patched, a replay refused; no workload or image in a label', async () => {
    agent.kube.put(
      'deployments',
      workloadObject('shop', 'web', [{ name: 'app', image: 'registry.example/shop/api:1.4.2' }]),
    );
    const once = bumpOf();
    expect((await agent.send(once)).status).toBe(200);
    expect((await agent.send(once)).status).toBe(409);
    const m = await scrape();
    expect(sampleValue(m, 'tagwarden_agent_bumps_received_total')).toBe(2);
    expect(sampleValue(m, 'tagwarden_agent_bumps_refused_total', { reason: 'replay' })).toBe(1);
    expect(sampleValue(m, 'tagwarden_agent_patches_total', { outcome: 'patched', mode: 'patch' })).toBe(1);
    expect(sampleValue(m, 'tagwarden_agent_patches_total', { outcome: 'failed', mode: 'patch' })).toBe(0);
    expect(m.get('tagwarden_agent_patches_total')?.type).toBe('counter');
    const values = allSamples(m).flatMap((s) => Object.values(s.labels));
    for (const value of values) expect(value).not.toMatch(/shop|web|app|registry|sha256/);
  });

  it('counts a forged bump as refused, unauthenticated', async () => {
    expect((await agent.send(bumpOf(), { secret: 'not-the-secret-0123456789' })).status).toBe(401);
    const m = await scrape();
    expect(sampleValue(m, 'tagwarden_agent_bumps_refused_total', { reason: 'unauthenticated' })).toBe(1);
  });

  it('is behind TAGWARDEN_METRICS_TOKEN when set: 401 without it', async () => {
    const none = await fetch(`${agent.url}/metrics`);
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toBe('Bearer realm="tagwarden"');
    const wrong = await fetch(`${agent.url}/metrics`, { headers: { Authorization: 'Bearer wrong' } });
    expect(wrong.status).toBe(401);
  });
});

describe('AgentMetrics.driftFindings', () => {
  it('sets a gauge per kind that the drift check owns, replacing the last value', async () => {
    const metrics = new AgentMetrics();
    metrics.driftFindings('moved', 3);
    metrics.driftFindings('moved', 1);
    metrics.driftFindings('unpinned', 2);
    const m = parsePrometheusText(await metrics.registry.metrics());
    expect(m.get('tagwarden_agent_drift_findings')?.type).toBe('gauge');
    expect(sampleValue(m, 'tagwarden_agent_drift_findings', { kind: 'moved' })).toBe(1);
    expect(sampleValue(m, 'tagwarden_agent_drift_findings', { kind: 'unpinned' })).toBe(2);
  });

  it('sets every kind from a drift round, so a kind that cleared reads 0', async () => {
    const metrics = new AgentMetrics();
    metrics.driftRound([{ kind: 'split' }, { kind: 'stale' }, { kind: 'split' }]);
    metrics.driftRound([{ kind: 'stale' }]);
    const m = parsePrometheusText(await metrics.registry.metrics());
    const value = (kind: string) => sampleValue(m, 'tagwarden_agent_drift_findings', { kind });
    expect([value('split'), value('stale'), value('risky')]).toEqual([0, 1, 0]);
  });
});
