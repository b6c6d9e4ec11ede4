import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { serveMetrics } from '../../functions/local/metrics';
import { type RunningLocalService, startLocalService } from '../../functions/local/server';
import type { Policy } from '../../shared/core';
import { EffectRunner } from '../../shared/guard/effects';
import { SqliteHistoryStore } from '../../shared/history';
import { silentLogger } from '../../shared/log';
import { FakeRegistry } from '../support/fake-registry';
import { allSamples, parsePrometheusText, sampleValue } from '../support/prometheus-text';
import { RecordingNotifier } from '../support/recording-notifier';
import { buildCli, eventually, freePort, type RunningTagwarden, startTagwarden } from '../support/tagwarden';
import { distributionBody } from '../support/webhook-bodies';

const TOKEN = 'metrics-source-token-0123456789';
const API_TOKEN = 'metrics-api-token-0123456789';
const HOST = '127.0.0.1:5000';
const policy: Policy = {
  defaults: { action: 'alert', owners: [], bump: false },
  rules: [{ match: { repository: 'payments/*' }, action: 'revert', owners: ['#payments'], bump: false }],
};
const dir = mkdtempSync(join(tmpdir(), 'tagwarden-metrics-'));
let store: SqliteHistoryStore;
let registry: FakeRegistry;
let notifier: RecordingNotifier;
let service: RunningLocalService;
let base: string;

beforeAll(async () => {
  store = new SqliteHistoryStore({ path: join(dir, 'history.db') });
  registry = new FakeRegistry();
  notifier = new RecordingNotifier();
  const metrics = serveMetrics(store);
  const effects = new EffectRunner({
    store,
    registries: (host) => (host === HOST ? registry : null),
    notifier,
    log: silentLogger,
    policy,
    alertWaitMs: 0,
    onSettled: (row, status) => metrics.observer.effectSettled(row.kind, status),
  });
  service = await startLocalService(
    {
      store,
      policy,
      log: silentLogger,
      auth: (s) => (s === 'distribution' ? { token: TOKEN, header: 'Authorization' } : null),
      effects,
      apiToken: API_TOKEN,
      ...metrics,
    },
    { port: 0, host: '127.0.0.1' },
  );
  base = `http://127.0.0.1:${service.port}`;
});

afterAll(async () => {
  await service?.stop();
  await store?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** A registry time three seconds ago: detection latency lands between 2 s and 30 s whatever the load. */
const threeSecondsAgo = () => new Date(Date.now() - 3000).toISOString();

async function push(repository: string, tag: string, digest: string): Promise<void> {
  const res = await fetch(`${base}/webhooks/distribution`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${TOKEN}`, 'Content-Type': 'application/json' },
    body: distributionBody({ repository, tag, digest, host: HOST, timestamp: threeSecondsAgo() }),
  });
  expect(res.status).toBe(202);
}

async function scrape(url = base, token = API_TOKEN) {
  const res = await fetch(`${url}/metrics`, { headers: { Authorization: `Bearer ${token}` } });
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
  return parsePrometheusText(await res.text());
}

const settled = async () =>
  eventually(async () => {
    const depth = await store.outboxDepth();
    return depth.pending === 0 ? depth : undefined;
  }, 'the outbox to drain');

describe('serve GET /metrics', () => {
  it('counts a push, an overwrite and its revert: events by source and transition, effects by kind and outcome', async () => {
    const a = registry.push('payments/api', 'v1', 'a').digest;
    await push('payments/api', 'v1', a);
    const b = registry.push('payments/api', 'v1', 'b').digest;
    await push('payments/api', 'v1', b);
    await eventually(
      async () => (registry.tags.get('payments/api:v1') === a ? true : undefined),
      'the revert',
    );
    await push('payments/api', 'v1', a); // the registry's echo of the revert
    await settled();
    const m = await scrape();
    const distribution = { source: 'distribution' };
    expect(sampleValue(m, 'tagwarden_events_received_total', distribution)).toBe(3);
    for (const transition of ['first-seen', 'overwrite', 'restored'])
      expect(sampleValue(m, 'tagwarden_events_recorded_total', { ...distribution, transition })).toBe(1);
    expect(sampleValue(m, 'tagwarden_overwrites_detected_total', distribution)).toBe(1);
    expect(sampleValue(m, 'tagwarden_effects_total', { kind: 'revert', outcome: 'done' })).toBe(1);
    expect(sampleValue(m, 'tagwarden_effects_total', { kind: 'alert', outcome: 'done' })).toBe(1);
    expect(notifier.alerts).toHaveLength(1);
    expect(sampleValue(m, 'tagwarden_detection_latency_seconds_count', distribution)).toBe(3);
    expect(sampleValue(m, 'tagwarden_detection_latency_seconds_bucket', { ...distribution, le: '2' })).toBe(
      0,
    );
    expect(sampleValue(m, 'tagwarden_detection_latency_seconds_bucket', { ...distribution, le: '30' })).toBe(
      3,
    );
    expect(sampleValue(m, 'tagwarden_outbox_pending_effects')).toBe(0);
    expect(sampleValue(m, 'tagwarden_outbox_oldest_pending_age_seconds')).toBe(0);
    expect(m.get('tagwarden_events_recorded_total')?.type).toBe('counter');
    expect(m.get('tagwarden_detection_latency_seconds')?.type).toBe('histogram');
    expect(m.get('tagwarden_outbox_pending_effects')?.type).toBe('gauge');
  });

  it('counts rejected items and bodies by source, and no refused source becomes a label', async () => {
    const before = sampleValueOr(await scrape(), 'tagwarden_events_rejected_total', {
      source: 'distribution',
    });
    const bad = await fetch(`${base}/webhooks/distribution`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${TOKEN}` },
      body: '{"events": "not a list"}',
    });
    expect(bad.status).toBe(400);
    for (const source of ['evil-source', 'harbor'])
      expect((await fetch(`${base}/webhooks/${source}`, { method: 'POST', body: '{}' })).status).toBe(404);
    const m = await scrape();
    expect(sampleValue(m, 'tagwarden_events_rejected_total', { source: 'distribution' })).toBe(before + 1);
    const sources = new Set(allSamples(m).flatMap((s) => (s.labels.source ? [s.labels.source] : [])));
    expect([...sources]).toEqual(['distribution']);
  });

  it('never puts a repository, tag or digest in a label: distinct pushes add no series', async () => {
    const seriesCount = async () => allSamples(await scrape()).length;
    await push('web/first', 'one', registry.push('web/first', 'one', 'x0').digest);
    const before = await seriesCount();
    const pushed: string[] = [];
    for (let i = 0; i < 20; i++) {
      const repository = `attacker/repo-${i}-${'z'.repeat(i)}`;
      const digest = registry.push(repository, `tag-${i}`, `seed-${i}`).digest;
      pushed.push(repository, `tag-${i}`, digest);
      await push(repository, `tag-${i}`, digest);
    }
    const m = await scrape();
    expect(allSamples(m)).toHaveLength(before);
    const values = allSamples(m).flatMap((s) => Object.values(s.labels));
    for (const value of values) {
      expect(pushed.some((p) => value.includes(p))).toBe(false);
      expect(value).not.toMatch(/attacker|sha256:|tag-/);
    }
    const names = new Set(allSamples(m).flatMap((s) => Object.keys(s.labels)));
    expect([...names].sort()).toEqual(['change', 'kind', 'le', 'outcome', 'source', 'transition']);
  });

  it('is behind api.token: 401 with a Bearer challenge without it or with a wrong one', async () => {
    const none = await fetch(`${base}/metrics`);
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toBe('Bearer realm="tagwarden"');
    expect(await none.json()).toEqual({ error: 'unauthorized: missing Authorization header' });
    const wrong = await fetch(`${base}/metrics`, { headers: { Authorization: 'Bearer nope' } });
    expect(wrong.status).toBe(401);
    expect((await fetch(`${base}/metrics`, { method: 'POST' })).status).toBe(405);
  });
});

function sampleValueOr(
  m: ReturnType<typeof parsePrometheusText>,
  name: string,
  labels: Record<string, string>,
) {
  try {
    return sampleValue(m, name, labels);
  } catch {
    return 0;
  }
}

describe('tagwarden serve (the built CLI) GET /metrics', () => {
  let tagwarden: RunningTagwarden;
  const cliDir = mkdtempSync(join(tmpdir(), 'tagwarden-metrics-cli-'));

  beforeAll(async () => {
    buildCli();
    const config = join(cliDir, 'tagwarden.yaml');
    writeFileSync(
      config,
      `defaults: { action: allow }\nsources:\n  distribution: { token: "${TOKEN}" }\napi:\n  token: "${API_TOKEN}"\n`,
    );
    const port = await freePort();
    tagwarden = await startTagwarden([
      '--port',
      String(port),
      '--db',
      join(cliDir, 'h.db'),
      '--config',
      config,
    ]);
  }, 60_000);

  afterAll(async () => {
    await tagwarden?.stop();
    rmSync(cliDir, { recursive: true, force: true });
  });

  it('answers 401 without api.token and counts a recorded push with it', async () => {
    expect((await fetch(`${tagwarden.url}/metrics`)).status).toBe(401);
    const res = await fetch(`${tagwarden.url}/webhooks/distribution`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${TOKEN}` },
      body: distributionBody({ host: HOST, timestamp: threeSecondsAgo() }),
    });
    expect(res.status).toBe(202);
    const m = await scrape(tagwarden.url);
    expect(
      sampleValue(m, 'tagwarden_events_recorded_total', { source: 'distribution', transition: 'first-seen' }),
    ).toBe(1);
    expect(sampleValue(m, 'tagwarden_outbox_pending_effects')).toBe(0);
  });
});
