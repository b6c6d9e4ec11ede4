import { createHash } from 'node:crypto';
import type { Manifest } from '../../shared/adapters/registry/port';
import { type Policy, type PolicyAction, TransientError } from '../../shared/core';
import { EffectRunner, keepTagFor, outcomeText } from '../../shared/guard/effects';
import { ManifestCache, MoveClassifier } from '../../shared/guard/outbox/classify';
import { MemoryHistoryStore } from '../../shared/history';
import { silentLogger } from '../../shared/log';
import { at, pushEvent } from '../support/events';
import { FakeRegistry } from '../support/fake-registry';
import { RecordingNotifier } from '../support/recording-notifier';

const HOST = '127.0.0.1:5000';
const REPO = 'payments/api';
const TAG = 'v1.0.0';
const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const DOCKER_MANIFEST = 'application/vnd.docker.distribution.manifest.v2+json';

const sha256 = (bytes: Buffer | string) => `sha256:${createHash('sha256').update(bytes).digest('hex')}`;

function manifestOf(value: object, mediaType: string): Manifest {
  const bytes = Buffer.from(JSON.stringify(value));
  return { bytes, mediaType, digest: sha256(bytes) };
}

/** A one-layer image manifest whose config and layer derive from `seed`. */
function image(seed: string, mediaType = OCI_MANIFEST): Manifest {
  return manifestOf(
    {
      schemaVersion: 2,
      mediaType,
      config: {
        mediaType: 'application/vnd.oci.image.config.v1+json',
        digest: sha256(`config ${seed}`),
        size: 1,
      },
      layers: [
        { mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: sha256(`layer ${seed}`), size: 1 },
      ],
    },
    mediaType,
  );
}

function index(children: Array<[Manifest, string]>, attestations: Manifest[] = []): Manifest {
  const platform = (name: string) => {
    const [os, architecture] = name.split('/');
    return { os, architecture };
  };
  return manifestOf(
    {
      schemaVersion: 2,
      mediaType: OCI_INDEX,
      manifests: [
        ...children.map(([m, name]) => ({
          mediaType: m.mediaType,
          digest: m.digest,
          size: m.bytes.length,
          platform: platform(name),
        })),
        ...attestations.map((m) => ({
          mediaType: m.mediaType,
          digest: m.digest,
          size: m.bytes.length,
          platform: { os: 'unknown', architecture: 'unknown' },
          annotations: { 'vnd.docker.reference.type': 'attestation-manifest' },
        })),
      ],
    },
    OCI_INDEX,
  );
}

function policyOf(action: PolicyAction, harmless?: PolicyAction): Policy {
  return {
    defaults: { action: 'alert', owners: [], bump: false },
    rules: [
      {
        match: { repository: 'payments/*' },
        action,
        owners: ['#payments'],
        bump: false,
        ...(harmless ? { harmless } : {}),
      },
    ],
  };
}

/** A runner with a policy over a fake registry; `move` records the tag at `from`, then at `to`, and runs the outbox. */
function harness(action: PolicyAction, harmless?: PolicyAction) {
  const store = new MemoryHistoryStore();
  const registry = new FakeRegistry();
  const notifier = new RecordingNotifier();
  const policy = policyOf(action, harmless);
  const runner = new EffectRunner({
    store,
    registries: (host) => (host === HOST ? registry : null),
    notifier,
    log: silentLogger,
    policy,
    now: () => new Date(at(60)),
    random: () => 0.5,
  });
  const put = (...manifests: Manifest[]) => {
    for (const m of manifests) registry.manifests.set(m.digest, m);
  };
  let seconds = 0;
  const record = async (manifest: Manifest) => {
    seconds += 10;
    registry.setTag(REPO, TAG, manifest.digest);
    const event = pushEvent({
      digest: manifest.digest,
      timestamp: at(seconds),
      mediaType: manifest.mediaType,
    });
    await store.apply(event, policy, at(seconds + 1));
    return event;
  };
  const move = async (from: Manifest, to: Manifest) => {
    await record(from);
    const event = await record(to);
    await runner.runDue();
    const effects = await store.effectsOf(event.id);
    const outcomes = Object.fromEntries(effects.map((e) => [e.kind, outcomeText(e.outcome) ?? e.status]));
    return { event, outcomes };
  };
  return { store, registry, notifier, put, move, record, runner };
}

const amd = image('amd64');
const arm = image('arm64');
const amdChanged = image('amd64 rebuilt');
const attest1 = image('attestation 1');
const attest2 = image('attestation 2');

describe('harmless moves in the outbox', () => {
  it('under revert, an index that gained a platform is recorded, not reverted, and no alert goes out', async () => {
    const h = harness('revert');
    const before = index([[amd, 'linux/amd64']]);
    const after = index([
      [amd, 'linux/amd64'],
      [arm, 'linux/arm64'],
    ]);
    h.put(amd, arm, before, after);

    const { outcomes } = await h.move(before, after);

    expect(h.registry.tagOf(REPO, TAG)).toBe(after.digest);
    expect(h.registry.callsOf('putManifest')).toEqual([]);
    expect(h.notifier.alerts).toEqual([]);
    expect(outcomes.revert).toMatch(
      /^harmless move, not acted on \(rule harmless: allow\); index-grew, approved as the tag's digest: .*linux\/arm64/,
    );
    expect(outcomes.alert).toMatch(/^harmless move.*index-grew, approved as the tag's digest/);
  });

  it('under revert, an index whose amd64 image changed is reverted and the alert names linux/amd64', async () => {
    const h = harness('revert');
    const before = index([
      [amd, 'linux/amd64'],
      [arm, 'linux/arm64'],
    ]);
    const after = index([
      [amdChanged, 'linux/amd64'],
      [arm, 'linux/arm64'],
    ]);
    h.put(amd, arm, amdChanged, before, after);

    const { outcomes } = await h.move(before, after);

    expect(h.registry.tagOf(REPO, TAG)).toBe(before.digest);
    expect(outcomes.revert).toContain('real overwrite: the image changed for linux/amd64');
    expect(h.notifier.alerts).toHaveLength(1);
    expect(h.notifier.alerts[0]!.actionTaken).toBe(
      `reverted to ${before.digest}; ${after.digest} kept as tag ${keepTagFor(after.digest)}`,
    );
    expect(h.notifier.alerts[0]!.notes).toContain('Move: real overwrite: the image changed for linux/amd64.');
  });

  it('harmless: alert leaves the tag and sends one alert naming the class', async () => {
    const h = harness('revert', 'alert');
    const before = index([[amd, 'linux/amd64']], [attest1]);
    const after = index([[amd, 'linux/amd64']], [attest2]);
    h.put(amd, attest1, attest2, before, after);

    const { outcomes } = await h.move(before, after);

    expect(h.registry.tagOf(REPO, TAG)).toBe(after.digest);
    expect(outcomes.revert).toContain('attestations-changed');
    expect(h.notifier.alerts).toHaveLength(1);
    expect(h.notifier.alerts[0]).toMatchObject({ title: 'Tag moved (harmless)', severity: 'warning' });
    expect(h.notifier.alerts[0]!.actionTaken).toBe(
      `not reverted: a harmless move (attestations-changed); the tag serves ${after.digest}, now its approved digest (what a revert restores)`,
    );
    expect(h.notifier.alerts[0]!.notes.join(' ')).toContain('attestations-changed');
  });

  it('harmless: revert reverts a harmless move too, and the alert names its class', async () => {
    const h = harness('revert', 'revert');
    const before = image('single', DOCKER_MANIFEST);
    const after = image('single', OCI_MANIFEST);
    h.put(before, after);

    const { outcomes } = await h.move(before, after);

    expect(h.registry.tagOf(REPO, TAG)).toBe(before.digest);
    expect(outcomes.revert).toContain('content-equal');
    expect(h.notifier.alerts[0]!.notes.join(' ')).toContain('content-equal');
  });

  it('under lock, a single image that became an index is neither reverted nor locked', async () => {
    const h = harness('lock');
    const after = index([
      [amd, 'linux/amd64'],
      [arm, 'linux/arm64'],
    ]);
    h.put(amd, arm, after);

    const { outcomes } = await h.move(amd, after);

    expect(h.registry.tagOf(REPO, TAG)).toBe(after.digest);
    expect(h.registry.locks.size).toBe(0);
    expect(outcomes.lock).toContain('became-index');
    expect(h.notifier.alerts).toEqual([]);
  });

  it('under alert, a harmless move sends nothing by default; a real overwrite alerts naming the platform', async () => {
    const h = harness('alert');
    const one = index([[amd, 'linux/amd64']]);
    const grown = index([
      [amd, 'linux/amd64'],
      [arm, 'linux/arm64'],
    ]);
    const changed = index([
      [amdChanged, 'linux/amd64'],
      [arm, 'linux/arm64'],
    ]);
    h.put(amd, arm, amdChanged, one, grown, changed);

    expect((await h.move(one, grown)).outcomes.alert).toContain('index-grew');
    expect(h.notifier.alerts).toEqual([]);
    await h.move(grown, changed);
    expect(h.notifier.alerts).toHaveLength(1);
    expect(h.notifier.alerts[0]!.notes).toContain('Move: real overwrite: the image changed for linux/amd64.');
  });

  it('under alert with harmless: alert, a harmless move alerts once under its own title, naming the class', async () => {
    const h = harness('alert', 'alert');
    const before = image('single', DOCKER_MANIFEST);
    const after = image('single', OCI_MANIFEST);
    h.put(before, after);

    await h.move(before, after);

    expect(h.notifier.alerts).toHaveLength(1);
    expect(h.notifier.alerts[0]).toMatchObject({
      title: 'Tag moved (harmless)',
      actionTaken: `alerted only (rule alert); the tag now serves ${after.digest}, now its approved digest (what a revert restores)`,
      notes: ['Move: content-equal: other manifest bytes, the same config and layers.'],
    });
  });

  it('falls back to a real overwrite when the registry refuses the manifest, and says so in the alert', async () => {
    const h = harness('revert');
    const before = index([[amd, 'linux/amd64']]);
    const after = index([
      [amd, 'linux/amd64'],
      [arm, 'linux/arm64'],
    ]);
    h.put(amd, arm, before, after);
    h.registry.failNext('getManifest', new TransientError('registry answered 503'), {
      when: (_repo, digest) => digest === after.digest,
    });

    const { outcomes } = await h.move(before, after);

    expect(h.registry.tagOf(REPO, TAG)).toBe(before.digest);
    expect(outcomes.revert).toContain(
      'could not tell a harmless move from an overwrite (registry answered 503)',
    );
    expect(h.notifier.alerts).toHaveLength(1);
    expect(h.notifier.alerts[0]!.notes.join(' ')).toContain('treated as a real overwrite');
  });

  it('falls back to a real overwrite when a manifest is gone', async () => {
    const h = harness('alert');
    const before = index([[amd, 'linux/amd64']]);
    const after = index([
      [amd, 'linux/amd64'],
      [arm, 'linux/arm64'],
    ]);
    h.put(amd, arm, after);

    await h.move(before, after);

    expect(h.notifier.alerts).toHaveLength(1);
    expect(h.notifier.alerts[0]!.notes.join(' ')).toContain(`the manifest ${before.digest} no longer exists`);
  });
});

describe('a harmless move the rule lets stand is approved', () => {
  const ref = { registryHost: HOST, repository: REPO, tag: TAG };
  const one = index([[amd, 'linux/amd64']]);
  const grown = index([
    [amd, 'linux/amd64'],
    [arm, 'linux/arm64'],
  ]);
  const changed = index([
    [amdChanged, 'linux/amd64'],
    [arm, 'linux/arm64'],
  ]);

  it.each(['allow', 'alert'] as const)(
    'under revert with harmless: %s, so a later real overwrite is reverted to the grown index, not past it',
    async (harmless) => {
      const h = harness('revert', harmless);
      h.put(amd, arm, amdChanged, one, grown, changed);
      await h.move(one, grown);
      expect(await h.store.tagState(ref)).toMatchObject({
        digest: grown.digest,
        approvedDigest: grown.digest,
      });

      await h.record(changed);
      await h.runner.runDue();
      expect(h.registry.tagOf(REPO, TAG)).toBe(grown.digest);
      const reverted = h.notifier.alerts.find((a) => a.actionTaken.startsWith('reverted'));
      expect(reverted?.notes).toContain('Move: real overwrite: the image changed for linux/amd64.');
    },
  );

  it('under lock, where the lock effect judges it', async () => {
    const h = harness('lock');
    h.put(amd, arm, one, grown);
    await h.move(one, grown);
    expect(h.registry.locks.size).toBe(0);
    expect((await h.store.tagState(ref))?.approvedDigest).toBe(grown.digest);
  });

  it('not when the rule reverts harmless moves too, nor once the tag serves another digest', async () => {
    const reverting = harness('revert', 'revert');
    reverting.put(amd, arm, one, grown);
    await reverting.move(one, grown);
    expect((await reverting.store.tagState(ref))?.approvedDigest).toBe(one.digest);

    // The grown index is replaced before its effects run: judging it must not approve it.
    const late = harness('revert');
    late.put(amd, arm, amdChanged, one, grown, changed);
    await late.record(one);
    await late.record(grown);
    await late.record(changed);
    await late.runner.runDue();
    expect(late.registry.tagOf(REPO, TAG)).toBe(one.digest);
    expect((await late.store.tagState(ref))?.approvedDigest).toBe(one.digest);
  });
});

describe('a harmless outcome in words', () => {
  const outcome = (approved?: boolean) =>
    outcomeText(
      JSON.stringify({
        kind: 'harmless',
        class: 'index-grew',
        action: 'alert',
        move: "index-grew: the index only gained linux/arm64; no platform's image changed",
        ...(approved === undefined ? {} : { approved }),
      }),
    );

  it("says whether the move became the tag's approved digest; a row of an older version says nothing of it", () => {
    const head = 'harmless move, not acted on (rule harmless: alert); index-grew';
    const rest = "the index only gained linux/arm64; no platform's image changed";
    expect(outcome(true)).toBe(`${head}, approved as the tag's digest: ${rest}`);
    expect(outcome(false)).toBe(`${head}, not approved: the tag serves another digest by now: ${rest}`);
    expect(outcome()).toBe(`${head}: ${rest}`);
  });
});

describe('MoveClassifier', () => {
  it('fetches each digest once: a second look at the same move is served from the cache', async () => {
    const registry = new FakeRegistry();
    const before = index([[amd, 'linux/amd64']]);
    const after = index([[amdChanged, 'linux/amd64']]);
    for (const m of [amd, amdChanged, before, after]) registry.manifests.set(m.digest, m);
    const classifier = new MoveClassifier();

    const first = await classifier.verdict(registry, REPO, before.digest, after.digest);
    const calls = registry.callsOf('getManifest').length;
    const second = await classifier.verdict(registry, REPO, before.digest, after.digest);

    expect(first).toEqual({ class: 'overwrite', changed: ['linux/amd64'] });
    expect(second).toEqual(first);
    expect(calls).toBe(4);
    expect(registry.callsOf('getManifest')).toHaveLength(4);
  });
});

describe('ManifestCache', () => {
  const doc = (digest: string) => ({ kind: 'image' as const, digest, config: digest, layers: [] });

  it('keeps at most maxEntries, dropping the least recently used', () => {
    const cache = new ManifestCache(2, 1000);
    cache.set('a', doc('a'), 10);
    cache.set('b', doc('b'), 10);
    cache.get('a');
    cache.set('c', doc('c'), 10);
    expect(cache.get('b')).toBeUndefined();
    expect(cache.get('a')).toEqual(doc('a'));
    expect(cache.size).toEqual({ entries: 2, bytes: 20 });
  });

  it('keeps at most maxBytes, and never holds a manifest larger than that', () => {
    const cache = new ManifestCache(100, 25);
    cache.set('a', doc('a'), 10);
    cache.set('b', doc('b'), 10);
    cache.set('c', doc('c'), 10);
    expect(cache.get('a')).toBeUndefined();
    expect(cache.size).toEqual({ entries: 2, bytes: 20 });
    cache.set('huge', doc('huge'), 26);
    expect(cache.get('huge')).toBeUndefined();
    cache.set('b', doc('b'), 12);
    expect(cache.size).toEqual({ entries: 2, bytes: 22 });
  });
});
