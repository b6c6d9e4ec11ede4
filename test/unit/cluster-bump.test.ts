import type { ClusterEndpoints } from '../../shared/adapters/cluster/port';
import { loadConfigText } from '../../shared/config/load';
import type { DigestBump } from '../../shared/contracts/cluster-bump/payload';
import {
  clusterBumpEventId,
  PermanentError,
  type Policy,
  type TagRef,
  TransientError,
} from '../../shared/core';
import { decodeOutcome, EffectRunner } from '../../shared/guard/effects';
import { MemoryHistoryStore } from '../../shared/history';
import { silentLogger } from '../../shared/log';
import { at, digestOf, pushEvent } from '../support/events';
import { RecordingNotifier } from '../support/recording-notifier';

const OLD = digestOf('bump-old');
const NEW = digestOf('bump-new');
const POLICY: Policy = {
  defaults: { action: 'alert', owners: [], bump: false },
  rules: [{ match: { tag: 'latest' }, action: 'allow', owners: ['#platform'], bump: true }],
};

/** Cluster endpoints that record every bump and fail on demand, per cluster. */
class RecordingClusters implements ClusterEndpoints {
  readonly calls: { name: string; bump: DigestBump }[] = [];
  private readonly failures = new Map<string, Error[]>();

  constructor(
    private readonly names: string[],
    private readonly only: Record<string, string> = {},
  ) {}

  get count(): number {
    return this.names.length;
  }

  namesFor(ref: TagRef): string[] {
    return this.names.filter((name) => !this.only[name] || ref.repository.startsWith(this.only[name]!));
  }

  /** The next `times` calls to `name` throw `error`. */
  failNext(name: string, error: Error, times = 1): void {
    this.failures.set(name, [...(this.failures.get(name) ?? []), ...Array(times).fill(error)]);
  }

  callsTo(name: string): DigestBump[] {
    return this.calls.filter((c) => c.name === name).map((c) => c.bump);
  }

  async send(name: string, bump: DigestBump): Promise<string> {
    this.calls.push({ name, bump: structuredClone(bump) });
    const error = this.failures.get(name)?.shift();
    if (error) throw error;
    return `delivered to cluster "${name}": HTTP 200`;
  }
}

function harness(names: string[], options: { maxAttempts?: number; only?: Record<string, string> } = {}) {
  const clock = { current: new Date(at(60)) };
  const store = new MemoryHistoryStore();
  const notifier = new RecordingNotifier();
  const clusters = new RecordingClusters(names, options.only);
  const runner = new EffectRunner({
    store,
    registries: () => null,
    notifier,
    clusters,
    log: silentLogger,
    now: () => clock.current,
    random: () => 0.5,
    maxAttempts: options.maxAttempts ?? 3,
    backoffBaseMs: 1000,
  });
  /** `latest` first pushed as OLD, then moved to NEW: an allowed overwrite with bump. */
  const move = async (repository = 'payments/api') => {
    const first = pushEvent({ repository, tag: 'latest', digest: OLD, timestamp: at(1) });
    const second = pushEvent({ repository, tag: 'latest', digest: NEW, timestamp: at(2) });
    await store.apply(first, POLICY, at(3));
    const result = await store.apply(second, POLICY, at(4));
    expect(result.transition.kind).toBe('overwrite');
    return second;
  };
  const clusterEffect = async (eventId: string, name: string) => {
    const [effect] = await store.effectsOf(clusterBumpEventId(eventId, name));
    if (!effect) throw new Error(`no bump for cluster ${name}`);
    return effect;
  };
  /** Runs the outbox until nothing is due within the backoff ceiling, moving the clock past each wait. */
  const drain = async () => {
    for (let i = 0; i < 20; i++) {
      await runner.runDue();
      clock.current = new Date(clock.current.getTime() + 60_000);
    }
  };
  /** `latest` moves while cluster `name` is down for every attempt (maxAttempts 2): its bump dead-letters. */
  const deadLetteredMove = async (name: string) => {
    clusters.failNext(name, new TransientError('HTTP 503'), 2);
    const event = await move();
    await drain();
    const dead = await clusterEffect(event.id, name);
    expect(dead.status).toBe('failed');
    return { event, dead };
  };
  return { clock, store, notifier, clusters, runner, move, clusterEffect, drain, deadLetteredMove };
}

describe('cluster bumps', () => {
  test('an allowed move of latest sends one bump per cluster, naming the previous and new digest', async () => {
    const h = harness(['prod', 'staging']);
    const event = await h.move();

    await h.runner.runDue();

    const [planned] = await h.store.effectsOf(event.id);
    expect(planned).toMatchObject({ kind: 'bump', status: 'done' });
    expect(decodeOutcome(planned!.outcome)).toEqual({ kind: 'fannedOut', clusters: ['prod', 'staging'] });
    for (const name of ['prod', 'staging']) {
      const key = `${event.id}:cluster=${name}#bump`;
      expect(h.clusters.callsTo(name)).toEqual([
        {
          id: key,
          registryHost: event.registryHost,
          repository: 'payments/api',
          tag: 'latest',
          previousDigest: OLD,
          digest: NEW,
          reason: 'moved',
          // Signed when sent, so a retry after an outage is not refused as old.
          timestamp: h.clock.current.toISOString(),
        },
      ]);
      expect(await h.clusterEffect(event.id, name)).toMatchObject({ key, status: 'done', attempts: 1 });
    }
    expect(h.notifier.attempts).toBe(0);
  });

  test('a cluster that fails is retried alone: the others get exactly one call', async () => {
    const h = harness(['prod', 'staging'], { maxAttempts: 5 });
    h.clusters.failNext('prod', new TransientError('cluster "prod": HTTP 503'), 2);
    const event = await h.move();

    await h.drain();

    expect(h.clusters.callsTo('prod')).toHaveLength(3);
    expect(h.clusters.callsTo('staging')).toHaveLength(1);
    expect(await h.clusterEffect(event.id, 'prod')).toMatchObject({ status: 'done', attempts: 3 });
    // Every attempt carries the same id, so a receiver can tell a retry from a new bump.
    expect(new Set(h.clusters.callsTo('prod').map((b) => b.id)).size).toBe(1);
    expect(h.notifier.attempts).toBe(0);
  });

  test('a cluster down past the last attempt becomes a dead letter with exactly one critical alert', async () => {
    const h = harness(['prod', 'staging'], { maxAttempts: 3 });
    h.clusters.failNext(
      'prod',
      new TransientError('cluster "prod" (10.0.0.1:8443): network error (ECONNREFUSED)'),
      99,
    );
    const event = await h.move();

    await h.drain();

    expect(h.clusters.callsTo('prod')).toHaveLength(3);
    const dead = await h.clusterEffect(event.id, 'prod');
    expect(dead).toMatchObject({ status: 'failed', attempts: 3 });
    expect(dead.lastError).toContain('ECONNREFUSED');
    expect((await h.store.failedEffects(10)).map((e) => e.key)).toEqual([dead.key]);
    expect(await h.clusterEffect(event.id, 'staging')).toMatchObject({ status: 'done' });

    expect(h.notifier.alerts).toHaveLength(1);
    const [alert] = h.notifier.alerts;
    expect(alert!.severity).toBe('critical');
    expect(alert!.title).toBe('Cluster not told');
    expect(alert!.actionTaken).toBe(
      'bump FAILED after 3 attempt(s): cluster "prod" (10.0.0.1:8443): network error (ECONNREFUSED)',
    );
    expect(alert!.incident).toMatchObject({
      from: OLD,
      to: NEW,
      ref: { tag: 'latest', repository: 'payments/api' },
    });
    expect(alert!.notes.join(' ')).toContain(`tagwarden retry --key ${dead.key}`);
  });

  test('a bump retried after the tag moved on is not sent: clusters are never pinned to a digest the tag left', async () => {
    const h = harness(['prod'], { maxAttempts: 2 });
    const { event, dead } = await h.deadLetteredMove('prod');
    // latest moves again while prod is down; then someone retries the old bump.
    const third = pushEvent({
      repository: 'payments/api',
      tag: 'latest',
      digest: digestOf('bump-third'),
      timestamp: at(5),
    });
    await h.store.apply(third, POLICY, at(6));
    const now = h.clock.current.toISOString();
    await h.store.updateEffect(dead.key, { status: 'pending', error: 'retry', nextAttemptAt: now }, now);
    await h.drain();

    const late = await h.clusterEffect(event.id, 'prod');
    expect(late).toMatchObject({ status: 'done' });
    expect(decodeOutcome(late.outcome)).toEqual({
      kind: 'skipped',
      reason: expect.stringMatching(/^the tag now serves sha256:/),
    });
    // prod got the newer move's bump, never the stale one again.
    expect(h.clusters.callsTo('prod').map((b) => b.digest)).toEqual([NEW, NEW, digestOf('bump-third')]);
  });

  test('a refused bump (4xx) fails at once, without retries', async () => {
    const h = harness(['prod'], { maxAttempts: 5 });
    h.clusters.failNext('prod', new PermanentError('cluster "prod" refused the bump with HTTP 401'));
    const event = await h.move();

    await h.drain();

    expect(h.clusters.callsTo('prod')).toHaveLength(1);
    expect(await h.clusterEffect(event.id, 'prod')).toMatchObject({ status: 'failed', attempts: 1 });
    expect(h.notifier.alerts).toHaveLength(1);
  });

  test('a dead letter set back to pending (tagwarden retry) is delivered, once, with no new alert', async () => {
    const h = harness(['prod'], { maxAttempts: 2 });
    const { event, dead } = await h.deadLetteredMove('prod');
    const now = h.clock.current.toISOString();

    await h.store.updateEffect(
      dead.key,
      { status: 'pending', error: dead.lastError!, nextAttemptAt: now },
      now,
    );
    await h.runner.runDue();

    expect(await h.clusterEffect(event.id, 'prod')).toMatchObject({ status: 'done' });
    expect(h.clusters.callsTo('prod')).toHaveLength(3);
    expect(h.clusters.callsTo('prod')[2]).toMatchObject({ previousDigest: OLD, digest: NEW });
    expect(h.notifier.alerts).toHaveLength(1);
  });

  test('a bump goes only to clusters that run the repository', async () => {
    const h = harness(['payments', 'web'], { only: { payments: 'payments/', web: 'web/' } });
    const event = await h.move('web/site');

    await h.runner.runDue();

    expect(h.clusters.calls.map((c) => c.name)).toEqual(['web']);
    expect(decodeOutcome((await h.store.effectsOf(event.id))[0]!.outcome)).toEqual({
      kind: 'fannedOut',
      clusters: ['web'],
    });
  });

  test('with no cluster matching, the bump is recorded as skipped and nothing is sent', async () => {
    const h = harness(['payments'], { only: { payments: 'payments/' } });
    const event = await h.move('web/site');

    await h.runner.runDue();

    expect(h.clusters.calls).toEqual([]);
    const planned = (await h.store.effectsOf(event.id))[0]!;
    expect(planned).toMatchObject({ status: 'done' });
    expect(decodeOutcome(planned.outcome)).toEqual({
      kind: 'skipped',
      reason: 'no cluster endpoint runs web/site (clusters[].repositories)',
    });
  });

  test('running a planned bump twice (a worker died before marking it done) queues each cluster once', async () => {
    const h = harness(['prod']);
    const event = await h.move();
    const [planned] = await h.store.effectsOf(event.id);
    if (planned?.effect.kind !== 'bump') throw new Error('expected a planned bump');
    await h.store.enqueueEffects(
      clusterBumpEventId(event.id, 'prod'),
      [{ ...planned.effect, cluster: 'prod' }],
      at(5),
    );

    await h.runner.runDue();

    expect(h.clusters.callsTo('prod')).toHaveLength(1);
  });

  test('a revert that restored the tag sends reason "reverted"', async () => {
    const h = harness(['prod']);
    const event = pushEvent({ tag: 'latest', digest: OLD });
    await h.store.enqueueEffects(
      event.id,
      [
        {
          kind: 'bump',
          reason: 'reverted',
          incident: {
            eventId: event.id,
            ref: { registryHost: event.registryHost, repository: event.repository, tag: 'latest' },
            from: NEW,
            to: OLD,
            restoreTo: null,
            actor: null,
            eventTime: at(9),
            ruleAction: 'revert',
            ruleSource: 'rules[0]',
            owners: [],
          },
        },
      ],
      h.clock.current.toISOString(),
    );

    await h.runner.runDue();

    expect(h.clusters.callsTo('prod')).toEqual([
      expect.objectContaining({ previousDigest: NEW, digest: OLD, reason: 'reverted' }),
    ]);
  });
});

describe('clusters in the config', () => {
  const load = (text: string, env: Record<string, string> = {}) =>
    loadConfigText(text, { file: 'tagwarden.yaml', env });
  const errors = (text: string) => {
    const result = load(text);
    if (result.ok) throw new Error('expected errors');
    return result.errors;
  };

  test('reads endpoints with their defaults and secrets from the environment', () => {
    const result = load(
      [
        'clusters:',
        // biome-ignore lint/suspicious/noTemplateCurlyInString: ${VAR} is the config syntax under test.
        '  - { name: prod, url: "https://agent.prod.example/bump", secret: "${PROD_SECRET}" }',
        '  - { name: flux, url: "http://nc/hook/abc", format: flux, secret: "0123456789abcdef", timeoutMs: 1500 }',
        '  - { name: keel, url: "http://keel:9300/v1/webhooks/native", format: keel, repositories: ["web/*"] }',
        'effects: { maxAttempts: 2, backoffBaseMs: 50 }',
      ].join('\n'),
      { PROD_SECRET: 'prod-secret-from-env-0123' },
    );
    if (!result.ok) throw new Error(result.errors.join('\n'));
    expect(result.config.clusters).toEqual([
      {
        name: 'prod',
        url: 'https://agent.prod.example/bump',
        format: 'tagwarden',
        secret: 'prod-secret-from-env-0123',
        timeoutMs: 5000,
      },
      {
        name: 'flux',
        url: 'http://nc/hook/abc',
        format: 'flux',
        secret: '0123456789abcdef',
        timeoutMs: 1500,
      },
      {
        name: 'keel',
        url: 'http://keel:9300/v1/webhooks/native',
        format: 'keel',
        repositories: ['web/*'],
        timeoutMs: 5000,
      },
    ]);
    expect(result.config.effects).toEqual({
      maxAttempts: 2,
      backoffBaseMs: 50,
      backoffMaxMs: 300_000,
      alertWaitMs: 5000,
    });
  });

  test('names must be unique, signed formats need a secret, and URLs are http(s)', () => {
    const text = [
      'clusters:',
      '  - { name: prod, url: "http://a.example", secret: "0123456789abcdef" }',
      '  - { name: prod, url: "ftp://b.example", secret: "0123456789abcdef" }',
      '  - { name: stage, url: "http://c.example", format: flux }',
      '  - { name: k, url: "http://k.example", format: keel, username: keel }',
      '  - { name: Bad_Name, url: "http://d.example", format: argo, secret: short }',
    ].join('\n');
    const found = errors(text).join('\n');
    expect(found).toContain('clusters[1].name: cluster name "prod" is used twice; names must be unique');
    expect(found).toContain('clusters[1].url: expected an http:// or https:// URL');
    expect(found).toContain('clusters[2].secret: format flux signs every call: set secret');
    expect(found).toContain(
      'clusters[3].secret: keel basic auth needs both username and secret (or neither)',
    );
    expect(found).toContain('clusters[4].name: expected a cluster name of lowercase letters');
    expect(found).toContain('clusters[4].format: expected one of tagwarden|flux|keel');
    expect(found).toContain('clusters[4].secret: a cluster secret must be at least 16 characters');
    expect(found).not.toContain('short"');
  });
});
