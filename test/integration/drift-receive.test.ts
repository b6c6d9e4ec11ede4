import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createLocalServer } from '../../functions/local/server';
import { signBody } from '../../shared/contracts/cluster-bump/signature';
import type { DriftFinding, DriftReport } from '../../shared/contracts/drift-report/payload';
import { type Policy, tagRefOf } from '../../shared/core';
import { EffectRunner } from '../../shared/guard/effects';
import { MemoryHistoryStore } from '../../shared/history';
import { silentLogger } from '../../shared/log';
import { digestOf, pushEvent } from '../support/events';
import { RecordingNotifier } from '../support/recording-notifier';

const SECRET = 'drift-secret-0123456789';
const TOKEN = 'api-token-0123456789';
const A = digestOf('a');
const B = digestOf('b');
const NOW = new Date('2026-11-22T10:00:00.000Z');
const ref = tagRefOf(pushEvent());
const policy: Policy = {
  defaults: { action: 'alert', owners: ['#payments'], bump: false },
  rules: [],
};

const split: DriftFinding = {
  kind: 'split',
  workload: { kind: 'Deployment', namespace: 'payments', name: 'api' },
  container: 'api',
  ...ref,
  running: [
    { digest: B, pods: 3 },
    { digest: A, pods: 2 },
  ],
  tagDigest: B,
};

let store: MemoryHistoryStore;
let notifier: RecordingNotifier;
let runner: EffectRunner;
let server: Server;
let base: string;
let n = 0;

beforeEach(async () => {
  store = new MemoryHistoryStore();
  // History says the tag serves A (the agent's belief, B, is only the fallback).
  await store.apply(pushEvent({ digest: A }), policy, NOW.toISOString());
  notifier = new RecordingNotifier();
  runner = new EffectRunner({
    store,
    registries: () => null,
    notifier,
    log: silentLogger,
    now: () => NOW,
    policy,
  });
  server = createLocalServer({
    store,
    policy,
    log: silentLogger,
    auth: () => null,
    now: () => NOW,
    onRecorded: () => {},
    apiToken: TOKEN,
    drift: store.drift,
    clusterSecret: (name) => (name === 'prod-eu' ? SECRET : null),
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterEach(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

function reportOf(findings: DriftFinding[], overrides: Partial<DriftReport> = {}): DriftReport {
  return {
    id: `report-${++n}`,
    cluster: 'prod-eu',
    timestamp: NOW.toISOString(),
    namespaces: ['payments'],
    findings,
    truncated: false,
    ...overrides,
  };
}

async function post(
  report: DriftReport | string,
  options: { secret?: string; cluster?: string; timestamp?: string } = {},
): Promise<{ status: number; body: Record<string, unknown> }> {
  const body = typeof report === 'string' ? report : JSON.stringify(report);
  const timestamp = options.timestamp ?? (typeof report === 'string' ? NOW.toISOString() : report.timestamp);
  const response = await fetch(`${base}/webhooks/agent`, {
    method: 'POST',
    headers: {
      'Content-Type': 'application/json',
      'X-Tagwarden-Cluster': options.cluster ?? 'prod-eu',
      'X-Tagwarden-Timestamp': timestamp,
      'X-Tagwarden-Signature': signBody(options.secret ?? SECRET, body),
    },
    body,
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

describe('POST /webhooks/agent refuses what it cannot trust', () => {
  it('refuses a forged report (signed with another secret) and records nothing', async () => {
    const answer = await post(reportOf([split]), { secret: 'not-the-secret-0123456789' });
    expect(answer).toEqual({ status: 401, body: { error: 'invalid signature' } });
    expect(await store.drift.openFindings()).toEqual([]);
  });

  it('refuses an unknown cluster and a cluster without a secret in the same words', async () => {
    const unknown = await post(reportOf([split], { cluster: 'elsewhere' }), { cluster: 'elsewhere' });
    expect(unknown.status).toBe(401);
    expect(unknown.body.error).toBe('missing or unknown X-Tagwarden-Cluster, or no secret for it');
  });

  it('refuses a report whose body names another cluster than its signed header', async () => {
    const answer = await post(reportOf([split], { cluster: 'prod-us' }));
    expect(answer.status).toBe(401);
    expect(answer.body.error).toMatch(/cluster does not equal X-Tagwarden-Cluster/);
  });

  it('refuses an old report (outside the 5 min window) and a timestamp header unlike the body', async () => {
    const old = reportOf([split], { timestamp: new Date(NOW.getTime() - 6 * 60_000).toISOString() });
    const late = await post(old);
    expect(late.status).toBe(401);
    expect(late.body.error).toMatch(/outside the accepted window of 300 s/);
    const other = await post(reportOf([split]), { timestamp: '2026-11-22T09:59:00.000Z' });
    expect(other).toEqual({
      status: 401,
      body: { error: "X-Tagwarden-Timestamp does not equal the signed body's timestamp" },
    });
    expect(await store.drift.openFindings()).toEqual([]);
  });

  it('refuses a replayed report with 409 and records it once', async () => {
    const report = reportOf([split]);
    expect((await post(report)).status).toBe(200);
    const replay = await post({ ...report, findings: [] });
    // Same id, other content, signed: the id decides.
    expect(replay).toEqual({
      status: 409,
      body: { error: `report ${report.id} was already received (replay refused)` },
    });
    expect(await store.drift.openFindings('prod-eu')).toHaveLength(1);
  });

  it('answers 400 with the reason for a signed body that is not a report', async () => {
    const answer = await post('{"id":"x"}');
    expect(answer.status).toBe(400);
    expect(answer.body.error).toMatch(/^bad drift report: /);
  });
});

describe('recording drift reports', () => {
  it('alerts the owners once per new finding, in words, and records the clearing', async () => {
    const first = await post(reportOf([split]));
    expect(first).toEqual({
      status: 200,
      body: { status: 'recorded', cluster: 'prod-eu', id: `report-${n}`, opened: 1, cleared: 0 },
    });
    expect((await post(reportOf([split]))).body).toMatchObject({ opened: 0, cleared: 0 });
    await runner.runDue();
    await runner.runDue();
    expect(notifier.alerts).toHaveLength(1);
    const [alert] = notifier.alerts;
    expect(alert!.incident.owners).toEqual(['#payments']);
    expect(alert!.actionTaken).toBe(
      `Deployment payments/api runs ${B.slice(0, 19)}… on 3 pods and ${A.slice(0, 19)}… on 2 pods under payments/api:v1.0.0; the tag serves ${A.slice(0, 19)}… (cluster prod-eu)`,
    );
    expect((await post(reportOf([]))).body).toMatchObject({ opened: 0, cleared: 1 });
    const rows = await store.drift.driftHistory(ref);
    expect(rows.map((r) => r.change)).toEqual(['opened', 'cleared']);
    await runner.runDue();
    expect(notifier.alerts).toHaveLength(1);
  });

  it('serves the open findings on GET /api/drift behind api.token', async () => {
    await post(reportOf([split]));
    expect((await fetch(`${base}/api/drift`)).status).toBe(401);
    const response = await fetch(`${base}/api/drift?cluster=prod-eu`, {
      headers: { Authorization: `Bearer ${TOKEN}` },
    });
    const body = (await response.json()) as { clusters: Record<string, Array<Record<string, unknown>>> };
    expect(Object.keys(body.clusters)).toEqual(['prod-eu']);
    expect(body.clusters['prod-eu']!.map((f) => [f.kind, f.container])).toEqual([['split', 'api']]);
  });
});
