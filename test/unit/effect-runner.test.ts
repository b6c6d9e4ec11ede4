import type { RegistryResolver } from '../../shared/adapters/registry/port';
import {
  PermanentError,
  type Policy,
  type PolicyAction,
  type RegistryEvent,
  resolveEffect,
  ruleFor,
  type TagState,
  TransientError,
} from '../../shared/core';
import {
  decodeOutcome,
  EffectRunner,
  type EffectRunnerOptions,
  keepTagFor,
  outcomeText,
} from '../../shared/guard/effects';
import { MemoryHistoryStore, type OutboxEffect } from '../../shared/history';
import { silentLogger } from '../../shared/log';
import { at, pushEvent } from '../support/events';
import { FakeRegistry, type FakeRegistryOptions } from '../support/fake-registry';
import { runOutboxFor } from '../support/outbox-clock';
import { RecordingNotifier } from '../support/recording-notifier';

const HOST = '127.0.0.1:5000';
const REPO = 'payments/api';
const TAG = 'v1.0.0';
const REF = { registryHost: HOST, repository: REPO, tag: TAG };

function policyOf(action: PolicyAction, bump = false): Policy {
  return {
    defaults: { action: 'alert', owners: [], bump: false },
    rules: [{ match: { repository: 'payments/*' }, action, owners: ['#payments'], bump }],
  };
}

interface Setup {
  action: PolicyAction;
  bump?: boolean;
  registry?: FakeRegistryOptions;
  resolver?: (registry: FakeRegistry) => RegistryResolver;
  runner?: Partial<EffectRunnerOptions>;
}

/** A store, a fake registry and a notifier around one runner, with a clock that moves only when told. */
function harness(setup: Setup) {
  const clock = { current: new Date(at(60)) };
  const store = new MemoryHistoryStore();
  const registry = new FakeRegistry(setup.registry);
  const notifier = new RecordingNotifier();
  const registries = setup.resolver
    ? setup.resolver(registry)
    : (host: string) => (host === HOST ? registry : null);
  const options: EffectRunnerOptions = {
    store,
    registries,
    notifier,
    log: silentLogger,
    now: () => clock.current,
    random: () => 0.5,
    ...setup.runner,
  };
  const runner = new EffectRunner(options);
  const policy = policyOf(setup.action, setup.bump ?? false);

  let seconds = 0;
  /** Records a push as the registry's event would report it, received a second after it happened. */
  const record = async (event: RegistryEvent) => {
    return store.apply(
      event,
      policy,
      new Date(Date.parse(event.timestamp ?? at(seconds)) + 1000).toISOString(),
    );
  };
  const pushAndRecord = async (seed: string) => {
    seconds += 10;
    const manifest = registry.push(REPO, TAG, seed);
    const event = pushEvent({ digest: manifest.digest, timestamp: at(seconds) });
    const result = await record(event);
    return { manifest, event, result };
  };
  /** The first push of the tag, then an overwrite: what most tests start from. */
  const overwrite = async () => {
    const old = await pushAndRecord('old');
    const offending = await pushAndRecord('new');
    expect(offending.result.transition.kind).toBe('overwrite');
    return { old: old.manifest, offending: offending.manifest, event: offending.event };
  };
  const effect = async (eventId: string, kind: OutboxEffect['kind']) => {
    const found = (await store.effectsOf(eventId)).find((e) => e.kind === kind);
    if (!found) throw new Error(`no ${kind} effect for ${eventId}`);
    // The store holds the outcome as data (JSON); tests read it in the words alerts and the CLI show.
    return { ...found, outcome: outcomeText(found.outcome) };
  };
  const advance = (ms: number) => {
    clock.current = new Date(clock.current.getTime() + ms);
  };
  const nowPlus = (ms: number) => new Date(clock.current.getTime() + ms).toISOString();
  const tagPuts = () => registry.callsOf('putManifest').filter((args) => args[1] === TAG);

  return {
    clock,
    store,
    registry,
    notifier,
    runner,
    options,
    record,
    pushAndRecord,
    overwrite,
    effect,
    advance,
    nowPlus,
    tagPuts,
  };
}

describe('EffectRunner: revert', () => {
  test('after two overwrites before it acts, restores the approved first digest, never the unapproved second', async () => {
    const h = harness({ action: 'revert' });
    const a = await h.pushAndRecord('a');
    const b = await h.pushAndRecord('b');
    const c = await h.pushAndRecord('c');
    expect(c.result.transition).toEqual({
      kind: 'overwrite',
      from: b.manifest.digest,
      to: c.manifest.digest,
    });
    expect((await h.store.tagState(REF))?.approvedDigest).toBe(a.manifest.digest);
    await h.runner.runDue();
    expect(h.registry.tagOf(REPO, TAG)).toBe(a.manifest.digest);
    expect((await h.effect(b.event.id, 'revert')).outcome).toMatch(/^skipped: the tag now serves/);
    expect((await h.effect(c.event.id, 'revert')).outcome).toMatch(`reverted to ${a.manifest.digest}`);
    expect(h.notifier.alerts.map((alert) => alert.severity)).toEqual(['warning', 'warning']);
    // The echo of A is our restore; A stays the approved digest.
    const echo = await h.record(pushEvent({ digest: a.manifest.digest, timestamp: at(100) }));
    expect(echo.transition.kind).toBe('restored');
    expect((await h.store.tagState(REF))?.approvedDigest).toBe(a.manifest.digest);
  });

  test('puts the old manifest back byte for byte and keeps the offending one under a keep tag', async () => {
    const h = harness({ action: 'revert' });
    const { old, offending, event } = await h.overwrite();

    expect(await h.runner.runDue()).toBe(2);

    expect(h.registry.tagOf(REPO, TAG)).toBe(old.digest);
    const puts = h.tagPuts();
    expect(puts).toHaveLength(1);
    const put = puts[0]![2] as { bytes: Buffer; digest: string };
    expect(put.bytes.equals(old.bytes)).toBe(true);
    expect(put.digest).toBe(old.digest);
    expect(h.registry.tagOf(REPO, keepTagFor(offending.digest))).toBe(offending.digest);
    expect(keepTagFor(offending.digest)).toMatch(/^tagwarden-keep-[0-9a-f]{12}$/);
    expect(await h.effect(event.id, 'revert')).toMatchObject({
      status: 'done',
      attempts: 1,
      outcome: `reverted to ${old.digest}; ${offending.digest} kept as tag ${keepTagFor(offending.digest)}`,
    });
  });

  test('verifies, keeps the offending manifest, records the pending restore, and only then puts', async () => {
    const h = harness({ action: 'revert' });
    const states: Array<{ tag: unknown; state: TagState | null }> = [];
    h.registry.hooks.putManifest = async (_repo, tag) => {
      states.push({ tag, state: await h.store.tagState(REF) });
    };
    const { old, offending } = await h.overwrite();
    h.registry.calls.length = 0;

    await h.runner.runDue();

    expect(h.registry.calls.map((c) => [c.method, c.args[1]])).toEqual([
      ['currentDigest', TAG],
      ['getManifest', old.digest],
      ['getManifest', offending.digest],
      ['putManifest', keepTagFor(offending.digest)],
      ['putManifest', TAG],
    ]);
    const atPut = states.find((s) => s.tag === TAG)!;
    expect(atPut.state?.pendingRestore).toMatchObject({ digest: old.digest, from: offending.digest });
    expect(Date.parse(atPut.state!.pendingRestore!.until)).toBeGreaterThan(h.clock.current.getTime());
    // Before Tagwarden's own keep-tag put the restore was not yet recorded: the order is the point.
    expect(states.find((s) => s.tag !== TAG)?.state?.pendingRestore).toBeNull();
  });

  test('sends one warning alert that says what was reverted', async () => {
    const h = harness({ action: 'revert' });
    const { old, offending, event } = await h.overwrite();

    await h.runner.runDue();

    expect(h.notifier.alerts).toHaveLength(1);
    const alert = h.notifier.alerts[0]!;
    expect(alert.actionTaken.startsWith('reverted to')).toBe(true);
    expect(alert.actionTaken).toContain(old.digest);
    expect(alert.severity).toBe('warning');
    expect(alert.incident).toMatchObject({
      eventId: event.id,
      from: old.digest,
      to: offending.digest,
      owners: ['#payments'],
      ruleSource: 'rules[0]',
      actor: 'alice',
    });
    expect(await h.effect(event.id, 'alert')).toMatchObject({
      status: 'done',
      outcome: 'sent via recording',
    });
  });

  test("the registry's echo of the revert is recorded as restored, not as a new overwrite", async () => {
    const h = harness({ action: 'revert' });
    const { old, offending } = await h.overwrite();
    await h.runner.runDue();

    const echo = await h.record(pushEvent({ digest: old.digest, timestamp: at(30) }));

    expect(echo.transition).toEqual({ kind: 'restored', digest: old.digest, replaced: offending.digest });
    expect(echo.effects).toEqual([]);
    expect((await h.store.tagState(REF))?.pendingRestore).toBeNull();
    await h.runner.runDue();
    expect(h.tagPuts()).toHaveLength(1);
    expect(h.notifier.alerts).toHaveLength(1);
  });

  test('skips a revert whose offending digest a later push already replaced, and lets the later event decide', async () => {
    const h = harness({ action: 'revert' });
    const { old, event } = await h.overwrite();
    const third = h.registry.push(REPO, TAG, 'third');
    const later = await h.record(pushEvent({ digest: third.digest, timestamp: at(500) }));
    expect(later.transition).toMatchObject({ kind: 'overwrite', to: third.digest });
    h.clock.current = new Date(at(600)); // both events' effects are due

    await h.runner.runDue();

    const revert = await h.effect(event.id, 'revert');
    expect(revert.status).toBe('done');
    expect(revert.outcome).toMatch(/^skipped: the tag now serves/);
    expect(revert.outcome).toContain(third.digest);
    // Only the later overwrite's own revert put anything, and it restored the approved first digest.
    expect(h.tagPuts()).toHaveLength(1);
    expect(h.registry.tagOf(REPO, TAG)).toBe(old.digest);
    expect(h.notifier.alerts.map((a) => a.severity)).toEqual(['warning', 'warning']);
  });

  test('does not put anything when someone already pushed the old digest back', async () => {
    const h = harness({ action: 'revert' });
    const { old, event } = await h.overwrite();
    h.registry.setTag(REPO, TAG, old.digest);
    const manual = await h.record(pushEvent({ digest: old.digest, timestamp: at(500) }));
    expect(manual.effects).toEqual([]);

    await h.runner.runDue();

    expect(h.registry.callsOf('putManifest')).toEqual([]);
    const revert = await h.effect(event.id, 'revert');
    expect(revert.outcome).toBe(`skipped: the tag already serves ${old.digest} again`);
  });

  test('waits for a registry that notified before moving the tag, then reverts', async () => {
    const h = harness({ action: 'revert' });
    const { old, offending, event } = await h.overwrite();
    h.registry.setTag(REPO, TAG, old.digest); // the event arrived; the registry still serves the old digest

    await h.runner.runDue();
    expect(h.tagPuts()).toEqual([]);
    const waiting = await h.effect(event.id, 'revert');
    expect(waiting).toMatchObject({ status: 'pending', attempts: 1, nextAttemptAt: h.nowPlus(50) });
    expect(waiting.lastError).toContain('does not serve');
    expect(h.notifier.alerts).toEqual([]);

    h.registry.setTag(REPO, TAG, offending.digest); // now the tag moves
    h.advance(50);
    await h.runner.runDue();
    expect(h.registry.tagOf(REPO, TAG)).toBe(old.digest);
    expect((await h.effect(event.id, 'revert')).outcome).toMatch(/^reverted to/);
    expect(h.notifier.alerts).toHaveLength(1);
  });

  test('fails at once with a critical alert when the previous manifest no longer exists', async () => {
    const h = harness({ action: 'revert' });
    const { old, offending, event } = await h.overwrite();
    h.registry.forgetManifest(old.digest);

    await h.runner.runDue();

    const revert = await h.effect(event.id, 'revert');
    expect(revert).toMatchObject({ status: 'failed', attempts: 1 });
    expect(revert.lastError).toContain(`the manifest to restore, ${old.digest}, no longer exists`);
    expect(h.registry.tagOf(REPO, TAG)).toBe(offending.digest);
    expect(h.registry.callsOf('putManifest')).toEqual([]);
    expect(h.notifier.alerts).toHaveLength(1);
    const alert = h.notifier.alerts[0]!;
    expect(alert.severity).toBe('critical');
    expect(alert.actionTaken).toContain('revert FAILED');
    expect(alert.actionTaken).toContain(`the tag still serves ${offending.digest}`);
    expect((await h.store.tagState(REF))?.pendingRestore).toBeNull();
    expect((await h.store.failedEffects(10)).map((e) => e.key)).toEqual([`${event.id}#revert`]);
  });

  test('clears the pending restore when the put itself fails permanently, and keeps the digest to restore under a keep tag', async () => {
    const h = harness({ action: 'revert' });
    const { old, event } = await h.overwrite();
    h.registry.failNext('putManifest', new PermanentError('manifest invalid'), {
      when: (_repo, tag) => tag === TAG,
    });

    await h.runner.runDue();

    expect(await h.effect(event.id, 'revert')).toMatchObject({
      status: 'failed',
      lastError: `manifest invalid; ${old.digest} kept as tag ${keepTagFor(old.digest)} for a manual restore`,
    });
    // A retention rule for untagged images can no longer take the approved digest.
    expect(h.registry.tagOf(REPO, keepTagFor(old.digest))).toBe(old.digest);
    expect((await h.store.tagState(REF))?.pendingRestore).toBeNull();
    expect(h.notifier.alerts.map((a) => a.severity)).toEqual(['critical']);
  });

  test('reports the revert failure as it was when the keep tag cannot be put either', async () => {
    const h = harness({ action: 'revert' });
    const { old, event } = await h.overwrite();
    h.registry.failNext('putManifest', new PermanentError('tag is immutable'), {
      when: (_repo, tag) => tag === TAG,
    });
    h.registry.failNext('putManifest', new PermanentError('denied'), {
      when: (_repo, tag) => tag === keepTagFor(old.digest),
    });

    await h.runner.runDue();

    expect(await h.effect(event.id, 'revert')).toMatchObject({
      status: 'failed',
      lastError: 'tag is immutable',
    });
    expect(h.registry.tagOf(REPO, keepTagFor(old.digest))).toBeUndefined();
  });

  test('fails permanently, telling how to configure the registry, when no registry is configured for the host', async () => {
    const h = harness({ action: 'revert', resolver: () => () => null });
    const { event } = await h.overwrite();

    await h.runner.runDue();

    const revert = await h.effect(event.id, 'revert');
    expect(revert).toMatchObject({ status: 'failed', attempts: 1 });
    expect(revert.lastError).toContain(`add registries."${HOST}".url`);
    expect(h.registry.calls).toEqual([]);
    expect(h.notifier.alerts).toHaveLength(1);
    expect(h.notifier.alerts[0]!.severity).toBe('critical');
    expect(h.notifier.alerts[0]!.actionTaken).toContain(`registries."${HOST}".url`);
  });
});

describe('EffectRunner: outcomes and hints', () => {
  test('the store holds what a revert did as data, which the alert puts in words', async () => {
    const h = harness({ action: 'revert' });
    const { old, offending, event } = await h.overwrite();

    await h.runner.runDue();

    const stored = (await h.store.effectsOf(event.id)).find((e) => e.kind === 'revert')!;
    expect(JSON.parse(stored.outcome!)).toEqual({
      kind: 'reverted',
      restored: old.digest,
      offending: offending.digest,
      keptAs: keepTagFor(offending.digest),
    });
    expect(decodeOutcome(stored.outcome)).toMatchObject({ kind: 'reverted', restored: old.digest });
    expect(h.notifier.alerts[0]!.actionTaken).toBe(
      `reverted to ${old.digest}; ${offending.digest} kept as tag ${keepTagFor(offending.digest)}`,
    );
  });

  test('an alert for an effect that failed for good gives the hint of the runtime it runs in', async () => {
    const local = harness({ action: 'lock' });
    local.registry.failNext('lockTag', new PermanentError('403 insufficient scope'));
    const first = await local.pushAndRecord('old');
    await local.runner.runDue();
    expect(local.notifier.alerts[0]!.notes).toEqual([
      `Effect ${first.event.id}#lock is listed by \`tagwarden failed\`; \`tagwarden retry --key ${first.event.id}#lock\` runs it again.`,
    ]);

    const cloud = harness({ action: 'lock', runner: { retryHint: (key) => `re-drive ${key} there` } });
    cloud.registry.failNext('lockTag', new PermanentError('403 insufficient scope'));
    const second = await cloud.pushAndRecord('old');
    await cloud.runner.runDue();
    expect(cloud.notifier.alerts[0]!.notes).toEqual([`re-drive ${second.event.id}#lock there`]);
  });
});

describe('EffectRunner: retries', () => {
  test('a transient failure leaves the revert pending with backoff, the alert waits, and both finish later', async () => {
    const h = harness({ action: 'revert' });
    const { old, event } = await h.overwrite();
    h.registry.failNext('currentDigest', new TransientError('503 Service Unavailable'));
    const expectedRetry = h.nowPlus(25); // a revert's first retry is a quick one

    await h.runner.runDue();

    expect(await h.effect(event.id, 'revert')).toMatchObject({
      status: 'pending',
      attempts: 1,
      nextAttemptAt: expectedRetry,
      lastError: '503 Service Unavailable',
    });
    const waiting = await h.effect(event.id, 'alert');
    expect(waiting).toMatchObject({ status: 'pending', attempts: 0 });
    expect(waiting.nextAttemptAt >= expectedRetry).toBe(true);
    expect(h.notifier.attempts).toBe(0);

    h.advance(24);
    expect(await h.runner.runDue()).toBe(0);

    h.advance(1);
    await h.runner.runDue();
    expect(h.registry.tagOf(REPO, TAG)).toBe(old.digest);
    expect(await h.effect(event.id, 'revert')).toMatchObject({ status: 'done', attempts: 2 });
    expect(h.notifier.alerts).toHaveLength(1);
    expect(h.notifier.alerts[0]!.actionTaken.startsWith('reverted to')).toBe(true);

    h.advance(60_000);
    await h.runner.runDue();
    expect(h.notifier.alerts).toHaveLength(1);
  });

  test("a revert's first three retries come quick, then backoff doubles per attempt with equal jitter", async () => {
    const h = harness({ action: 'revert' });
    const { event } = await h.overwrite();
    h.registry.failNext('currentDigest', new TransientError('timeout'), { times: 6 });
    const delays: number[] = [];
    for (let i = 0; i < 6; i++) {
      const before = h.clock.current.getTime();
      await h.runner.runDue();
      const revert = await h.effect(event.id, 'revert');
      delays.push(Date.parse(revert.nextAttemptAt) - before);
      h.clock.current = new Date(revert.nextAttemptAt);
    }
    // 25, 50, 100 ms; then ceilings 1000, 2000, 4000 ms, and with random 0.5 the delay is 3/4 of the ceiling.
    expect(delays).toEqual([25, 50, 100, 750, 1500, 3000]);
  });

  test('a Retry-After from the registry sets the next attempt exactly that much later', async () => {
    const h = harness({ action: 'revert' });
    const { event } = await h.overwrite();
    h.registry.failNext('currentDigest', new TransientError('429 Too Many Requests', 3000));
    const expected = h.nowPlus(3000);

    await h.runner.runDue();

    expect(await h.effect(event.id, 'revert')).toMatchObject({ status: 'pending', nextAttemptAt: expected });
  });

  test('after maxAttempts transient failures (and the quick retries) the revert fails and the alert reports the failure', async () => {
    // An alert that may wait the whole hour for the revert: it reports how the revert ended.
    const h = harness({ action: 'revert', runner: { maxAttempts: 3, alertWaitMs: 60 * 60_000 } });
    const { offending, event } = await h.overwrite();
    h.registry.failNext('currentDigest', new TransientError('connection reset'), { times: 10 });

    for (let i = 0; i < 6; i++) {
      await h.runner.runDue();
      h.advance(10 * 60_000);
    }

    expect(h.registry.callsOf('currentDigest')).toHaveLength(6);
    expect(await h.effect(event.id, 'revert')).toMatchObject({
      status: 'failed',
      attempts: 6,
      lastError: 'connection reset',
    });
    expect(h.notifier.alerts).toHaveLength(1);
    expect(h.notifier.alerts[0]).toMatchObject({ severity: 'critical' });
    expect(h.notifier.alerts[0]!.actionTaken).toBe(
      `revert FAILED: connection reset; the tag still serves ${offending.digest}`,
    );
    await h.runner.runDue();
    expect(h.registry.callsOf('currentDigest')).toHaveLength(6);
  });

  test('a put that fails transiently until the runner gives up clears the pending restore it marked', async () => {
    const h = harness({ action: 'revert', runner: { maxAttempts: 3 } });
    const { old, offending, event } = await h.overwrite();
    h.registry.failNext('putManifest', new TransientError('502 Bad Gateway'), {
      times: 10,
      when: (_repo, tag) => tag === TAG,
    });

    await h.runner.runDue();
    // While retries remain, the restore stays marked: the next attempt's echo must pass as ours.
    expect((await h.store.tagState(REF))?.pendingRestore).toMatchObject({
      digest: old.digest,
      from: offending.digest,
    });
    for (let i = 0; i < 5; i++) {
      h.advance(10 * 60_000);
      await h.runner.runDue();
    }

    expect(h.tagPuts()).toHaveLength(6); // 3 attempts and 3 quick retries
    expect(await h.effect(event.id, 'revert')).toMatchObject({ status: 'failed', attempts: 6 });
    // No echo is coming: a later push of the old digest must not pass as our restore.
    expect((await h.store.tagState(REF))?.pendingRestore).toBeNull();
  });

  test('an error of no known class counts as transient and is retried', async () => {
    const h = harness({ action: 'revert' });
    const { event } = await h.overwrite();
    h.registry.failNext('currentDigest', new Error('socket hang up'));

    await h.runner.runDue();

    expect(await h.effect(event.id, 'revert')).toMatchObject({ status: 'pending', attempts: 1 });
  });
});

type Harness = ReturnType<typeof harness>;

/** Runs the outbox at every moment an effect of `eventId` falls due, for `ms` of the harness clock. */
function runFor(h: Harness, eventId: string, ms: number): Promise<void> {
  return runOutboxFor(h.runner, h.store, h.clock, eventId, ms);
}

/** An overwrite received a second after it happened, with the registry refusing `times` calls from then on. */
async function overwriteWhileRegistryRefuses(h: Harness, times: number) {
  const found = await h.overwrite();
  h.clock.current = new Date(Date.parse(found.event.timestamp!) + 1000);
  h.registry.failNext('currentDigest', new TransientError('connect ECONNREFUSED'), { times });
  return found;
}

const STILL_RETRIED = /^revert not done yet \(attempt \d+: connect ECONNREFUSED\); it is still being retried/;

describe('EffectRunner: an alert waits for its revert, but not forever', () => {
  test('with the registry refusing, the alert goes out when the wait runs out, saying the revert is retried; it then goes through and nobody is alerted again', async () => {
    const h = harness({ action: 'revert' });
    // Attempts at +0, 25, 75, 175, 925, 2425 ms fail; the 7th, at 5425 ms, finds the registry back.
    const { old, offending, event } = await overwriteWhileRegistryRefuses(h, 6);

    await runFor(h, event.id, 3999); // 4999 ms after the push
    expect(h.notifier.alerts).toEqual([]);
    await runFor(h, event.id, 1); // the default wait, 5 s after the push
    expect(h.notifier.alerts).toHaveLength(1);
    expect(h.notifier.alerts[0]).toMatchObject({ severity: 'warning' });
    expect(h.notifier.alerts[0]!.actionTaken).toMatch(STILL_RETRIED);
    expect(h.notifier.alerts[0]!.actionTaken).toContain(
      `the tag serves ${offending.digest} until it succeeds`,
    );
    expect(h.notifier.alerts[0]!.notes).toContain(
      'You will be alerted again only if the revert fails for good.',
    );
    expect(await h.effect(event.id, 'alert')).toMatchObject({
      status: 'done',
      outcome: 'sent via recording before the revert settled',
    });
    expect((await h.effect(event.id, 'revert')).status).toBe('pending');

    await runFor(h, event.id, 10 * 60_000);
    expect(await h.effect(event.id, 'revert')).toMatchObject({ status: 'done', attempts: 7 });
    expect(h.registry.tagOf(REPO, TAG)).toBe(old.digest);
    expect(h.notifier.alerts).toHaveLength(1);
  });

  test('when the revert then fails for good, one follow-up says so', async () => {
    const h = harness({ action: 'revert', runner: { maxAttempts: 5, alertWaitMs: 3000 } });
    const { offending, event } = await overwriteWhileRegistryRefuses(h, 100);

    await runFor(h, event.id, 60 * 60_000);

    expect(await h.effect(event.id, 'revert')).toMatchObject({ status: 'failed', attempts: 8 });
    expect(h.notifier.alerts.map((a) => a.actionTaken)).toEqual([
      expect.stringMatching(STILL_RETRIED),
      'revert FAILED after 8 attempt(s): connect ECONNREFUSED',
    ]);
    expect(h.notifier.alerts[1]).toMatchObject({ severity: 'critical', title: 'Revert failed' });
    expect(h.notifier.alerts[1]!.incident.to).toBe(offending.digest);
  });

  test('a runner restarted during the wait keeps the deadline of the event: the alert goes out once, on time', async () => {
    const h = harness({ action: 'revert', runner: { maxAttempts: 5 } });
    const { event } = await overwriteWhileRegistryRefuses(h, 100);
    await runFor(h, event.id, 3000); // 4 s after the push, the first process dies

    h.runner = new EffectRunner(h.options); // a new process on the same history
    await runFor(h, event.id, 999);
    expect(h.notifier.alerts).toEqual([]);
    await runFor(h, event.id, 1);
    expect(h.notifier.alerts.map((a) => a.actionTaken)).toEqual([expect.stringMatching(STILL_RETRIED)]);

    h.runner = new EffectRunner(h.options); // and once more, before the revert fails for good
    await runFor(h, event.id, 60 * 60_000);
    expect(h.notifier.alerts.map((a) => a.title)).toEqual([undefined, 'Revert failed']);
  });

  test('a revert that fails for good on another worker while its alert goes out is still followed up', async () => {
    const h = harness({ action: 'revert' });
    const { event } = await overwriteWhileRegistryRefuses(h, 100);
    // The other worker settles the revert as failed while the alert is being sent; reading the
    // alert as still to come, it leaves the failure to the alert.
    const racing = new (class extends RecordingNotifier {
      override async send(alert: Parameters<RecordingNotifier['send']>[0]): Promise<void> {
        if (this.alerts.length === 0)
          await h.store.updateEffect(`${event.id}#revert`, { status: 'failed', error: 'gone' }, at(0));
        return super.send(alert);
      }
    })();
    h.runner = new EffectRunner({ ...h.options, notifier: racing });

    await runFor(h, event.id, 60 * 60_000);

    expect(racing.alerts.map((a) => a.actionTaken)).toEqual([
      expect.stringMatching(STILL_RETRIED),
      'revert FAILED after 7 attempt(s): gone',
    ]);
  });

  test('an alert for an event that arrives late still waits for the quick retries of its revert', async () => {
    const h = harness({ action: 'revert' });
    const { old, event } = await h.overwrite(); // recorded 40 s after it happened: the wait has run out
    h.registry.failNext('currentDigest', new TransientError('500 invalid checksum digest format'), {
      times: 3,
    });

    await runFor(h, event.id, 175);

    expect(h.registry.tagOf(REPO, TAG)).toBe(old.digest);
    expect(h.notifier.alerts.map((a) => a.actionTaken)).toEqual([expect.stringMatching(/^reverted to/)]);
  });

  test('only a revert gets quick retries: a lock backs off from the first', async () => {
    const h = harness({ action: 'lock' });
    const { event } = await h.pushAndRecord('first');
    h.registry.failNext('lockTag', new TransientError('timeout'), { times: 2 });
    const delays: number[] = [];
    for (let i = 0; i < 2; i++) {
      const before = h.clock.current.getTime();
      await h.runner.runDue();
      const lock = await h.effect(event.id, 'lock');
      delays.push(Date.parse(lock.nextAttemptAt) - before);
      h.clock.current = new Date(lock.nextAttemptAt);
    }
    expect(delays).toEqual([750, 1500]);
  });
});

describe('EffectRunner: alert rule', () => {
  test('sends one alert that says it alerted only, and touches no registry', async () => {
    const h = harness({ action: 'alert' });
    const { offending, event } = await h.overwrite();

    await h.runner.runDue();

    expect(h.notifier.alerts).toHaveLength(1);
    expect(h.notifier.alerts[0]!.actionTaken.startsWith('alerted only')).toBe(true);
    expect(h.notifier.alerts[0]!.actionTaken).toContain(offending.digest);
    expect(h.notifier.alerts[0]!.severity).toBe('warning');
    expect(h.registry.calls).toEqual([]);
    expect(await h.effect(event.id, 'alert')).toMatchObject({ status: 'done', attempts: 1 });
  });

  test('a transient notifier failure is retried later and the alert is delivered once', async () => {
    const h = harness({ action: 'alert' });
    const { event } = await h.overwrite();
    h.notifier.failNext(new TransientError('slack 503'));
    const retryAt = h.nowPlus(750);

    await h.runner.runDue();
    expect(h.notifier.alerts).toHaveLength(0);
    expect(await h.effect(event.id, 'alert')).toMatchObject({
      status: 'pending',
      attempts: 1,
      nextAttemptAt: retryAt,
    });

    h.advance(750);
    await h.runner.runDue();
    h.advance(60_000);
    await h.runner.runDue();

    expect(h.notifier.attempts).toBe(2);
    expect(h.notifier.alerts).toHaveLength(1);
    expect(await h.effect(event.id, 'alert')).toMatchObject({ status: 'done', attempts: 2 });
  });

  test('a permanent notifier failure fails the alert, which store.failedEffects then lists', async () => {
    const h = harness({ action: 'alert' });
    const { event } = await h.overwrite();
    h.notifier.failNext(new PermanentError('invalid_auth'));

    await h.runner.runDue();
    h.advance(60_000);
    await h.runner.runDue();

    expect(h.notifier.attempts).toBe(1);
    expect(h.notifier.alerts).toEqual([]);
    const failed = await h.store.failedEffects(10);
    expect(failed.map((e) => [e.key, e.status, e.lastError])).toEqual([
      [`${event.id}#alert`, 'failed', 'invalid_auth'],
    ]);
  });
});

describe('EffectRunner: lock rule', () => {
  test('on a registry that cannot lock, the first push leaves a lock effect done as "not locked: …"', async () => {
    const h = harness({
      action: 'lock',
      registry: { lockSupported: false, lockUnsupportedReason: 'distribution has no tag locks' },
    });
    const { event, manifest } = await h.pushAndRecord('old');

    await h.runner.runDue();

    expect(h.registry.callsOf('lockTag')).toEqual([[REPO, TAG, manifest.digest]]);
    expect(await h.effect(event.id, 'lock')).toMatchObject({
      status: 'done',
      outcome: 'not locked: distribution has no tag locks',
    });
    expect(h.notifier.alerts).toEqual([]);
  });

  test('on a registry that can lock, the first push locks the pushed digest', async () => {
    const h = harness({ action: 'lock' });
    const { event, manifest } = await h.pushAndRecord('old');

    await h.runner.runDue();

    expect(h.registry.locks.get(`${REPO}:${TAG}`)).toBe(manifest.digest);
    expect(await h.effect(event.id, 'lock')).toMatchObject({ status: 'done', outcome: 'locked' });
  });

  test('an overwrite on a registry that cannot lock is reverted, and the alert notes the lock', async () => {
    const h = harness({
      action: 'lock',
      registry: { lockSupported: false, lockUnsupportedReason: 'distribution has no tag locks' },
    });
    const { old, event } = await h.overwrite();

    await h.runner.runDue();

    expect(h.registry.tagOf(REPO, TAG)).toBe(old.digest);
    expect((await h.store.effectsOf(event.id)).map((e) => [e.kind, e.status])).toEqual([
      ['revert', 'done'],
      ['lock', 'done'],
      ['alert', 'done'],
    ]);
    // The lock is re-applied to the restored (old) digest.
    expect(h.registry.callsOf('lockTag').at(-1)).toEqual([REPO, TAG, old.digest]);
    expect(h.notifier.alerts).toHaveLength(1);
    const alert = h.notifier.alerts[0]!;
    expect(alert.actionTaken.startsWith('reverted to')).toBe(true);
    expect(alert.notes).toEqual(['Lock: the tag could not be locked: distribution has no tag locks.']);
  });

  test('an overwrite that slipped in before the lock ran is reverted, and then the restored digest is locked', async () => {
    const h = harness({ action: 'lock' });
    const { old, event } = await h.overwrite(); // both pushes land before any effect runs

    await h.runner.runDue();

    // The first push's lock finds the tag on the offending digest and locks nothing wrong.
    const first = (await h.store.history(REF))[0]!.eventId;
    expect(await h.effect(first, 'lock')).toMatchObject({
      status: 'done',
      outcome: expect.stringMatching(/^not locked: .* serves sha256:/),
    });
    expect(h.registry.tagOf(REPO, TAG)).toBe(old.digest);
    expect(h.registry.locks.get(`${REPO}:${TAG}`)).toBe(old.digest);
    expect((await h.store.effectsOf(event.id)).map((e) => [e.kind, e.status])).toEqual([
      ['revert', 'done'],
      ['lock', 'done'],
      ['alert', 'done'],
    ]);
    expect(h.notifier.alerts).toHaveLength(1);
    expect(h.notifier.alerts[0]).toMatchObject({ severity: 'warning', notes: [] });
    expect(() => h.registry.push(REPO, TAG, 'again')).toThrow(/is locked/);
  });

  test('a revert onto a tag the registry keeps locked fails loudly and leaves no restore pending', async () => {
    const h = harness({ action: 'revert' });
    const { old, offending, event } = await h.overwrite();
    await h.registry.lockTag(REPO, TAG, offending.digest); // locked by hand on the offending image

    await h.runner.runDue();

    expect(h.registry.tagOf(REPO, TAG)).toBe(offending.digest);
    expect(await h.effect(event.id, 'revert')).toMatchObject({ status: 'failed' });
    expect((await h.effect(event.id, 'revert')).lastError).toContain('is locked');
    expect(h.registry.tagOf(REPO, keepTagFor(old.digest))).toBe(old.digest);
    expect((await h.store.tagState(REF))?.pendingRestore).toBeNull();
    expect(h.notifier.alerts.map((a) => a.severity)).toEqual(['critical']);
  });

  test('a lock that fails for good with no alert after it gets a critical alert of its own', async () => {
    const h = harness({ action: 'lock' });
    h.registry.failNext('lockTag', new PermanentError('403 insufficient scope'));
    const { event } = await h.pushAndRecord('old');

    await h.runner.runDue();

    expect(await h.effect(event.id, 'lock')).toMatchObject({
      status: 'failed',
      lastError: '403 insufficient scope',
    });
    expect(h.notifier.alerts).toHaveLength(1);
    expect(h.notifier.alerts[0]).toMatchObject({ severity: 'critical' });
    expect(h.notifier.alerts[0]!.actionTaken).toBe('lock FAILED after 1 attempt(s): 403 insufficient scope');
    expect(h.notifier.alerts[0]!.notes.join(' ')).toContain(`${event.id}#lock`);
  });

  test('a lock that fails for good after an overwrite is not silent: the overwrite alert reports it', async () => {
    const h = harness({ action: 'lock' });
    await h.pushAndRecord('old');
    await h.runner.runDue(); // the first push's lock succeeds
    h.registry.unlock(REPO, TAG); // the lock did not hold: someone with rights lifted it and pushed
    const offending = h.registry.push(REPO, TAG, 'new');
    const event = pushEvent({ digest: offending.digest, timestamp: at(20) });
    await h.record(event);
    h.registry.failNext('lockTag', new PermanentError('403 insufficient scope'));

    await h.runner.runDue();

    expect((await h.store.effectsOf(event.id)).map((e) => [e.kind, e.status])).toEqual([
      ['revert', 'done'],
      ['lock', 'failed'],
      ['alert', 'done'],
    ]);
    expect(h.notifier.alerts).toHaveLength(1);
    const alert = h.notifier.alerts[0]!;
    expect(alert.actionTaken.startsWith('reverted to')).toBe(true);
    expect(`${alert.actionTaken} ${alert.notes.join(' ')}`).toContain('403 insufficient scope');
  });
});

describe('EffectRunner: bump', () => {
  test('an allowed move with bump is recorded as skipped (no cluster endpoints) and alerts nobody', async () => {
    const h = harness({ action: 'allow', bump: true });
    const { event } = await h.overwrite();

    expect(await h.runner.runDue()).toBe(1);

    expect(await h.effect(event.id, 'bump')).toMatchObject({
      status: 'done',
      outcome: 'skipped: no cluster endpoints configured',
    });
    expect(h.notifier.attempts).toBe(0);
    expect(h.registry.calls).toEqual([]);
  });
});

describe('EffectRunner: running each effect once', () => {
  test('two concurrent runDue calls on one runner put once and alert once', async () => {
    const h = harness({ action: 'revert' });
    await h.overwrite();

    await Promise.all([h.runner.runDue(), h.runner.runDue()]);

    expect(h.tagPuts()).toHaveLength(1);
    expect(h.notifier.alerts).toHaveLength(1);
  });

  test('two runners on one store running at once put once and alert once', async () => {
    const h = harness({ action: 'revert' });
    await h.overwrite();
    const second = new EffectRunner(h.options);

    await Promise.all([h.runner.runDue(), second.runDue()]);

    expect(h.tagPuts()).toHaveLength(1);
    expect(h.notifier.alerts).toHaveLength(1);
  });

  test('an effect claimed by a crashed worker is left alone until its lease passes, then runs', async () => {
    const h = harness({ action: 'revert' });
    const { old, event } = await h.overwrite();
    const leaseUntil = h.nowPlus(30_000);
    const claimed = await h.store.claimDueEffects(h.clock.current.toISOString(), leaseUntil, 50);
    expect(claimed.map((e) => e.kind)).toEqual(['revert', 'alert']);

    expect(await h.runner.runDue()).toBe(0);
    h.advance(29_999);
    expect(await h.runner.runDue()).toBe(0);
    expect(h.registry.calls).toEqual([]);
    expect(h.notifier.attempts).toBe(0);

    h.advance(1);
    expect(await h.runner.runDue()).toBe(2);
    expect(h.registry.tagOf(REPO, TAG)).toBe(old.digest);
    expect(h.tagPuts()).toHaveLength(1);
    expect(h.notifier.alerts).toHaveLength(1);
    expect((await h.effect(event.id, 'revert')).status).toBe('done');
  });

  test('a second runner started while a slow batch runs never sends an alert the first one sends', async () => {
    // Each Slack message takes 2.5 s; the first runner claims all 20 alerts in one batch, and the
    // second starts 35 s in, when the lease of that claim has passed (the `serve` + `sweep` report).
    const second: { runner: EffectRunner | null; run: Promise<number> | null } = { runner: null, run: null };
    const slow = new (class extends RecordingNotifier {
      override async send(alert: Parameters<RecordingNotifier['send']>[0]): Promise<void> {
        h.advance(2500);
        if (this.attempts === 13) second.run = second.runner!.runDue();
        await new Promise((resolve) => setImmediate(resolve)); // lets the other runner interleave
        return super.send(alert);
      }
    })();
    const h = harness({ action: 'alert', runner: { notifier: slow } });
    const events = [];
    for (let i = 0; i <= 20; i++) events.push((await h.pushAndRecord(`seed-${i}`)).event);
    h.advance(300_000); // every alert is due
    second.runner = new EffectRunner(h.options);

    const first = await h.runner.runDue();
    const other = await second.run!;

    expect(first + other).toBe(20);
    expect(other).toBeGreaterThan(0); // the second runner did take over part of the batch
    expect(slow.alerts).toHaveLength(20);
    expect(new Set(slow.alerts.map((a) => a.incident.to)).size).toBe(20);
    for (const event of events.slice(1)) expect((await h.effect(event.id, 'alert')).status).toBe('done');
  });

  test('the same overwrite event applied three times yields one revert and one alert', async () => {
    const h = harness({ action: 'revert' });
    const { event } = await h.overwrite();
    const again = [await h.record(event), await h.record({ ...event })];
    expect(again.map((r) => r.transition.kind)).toEqual(['duplicate', 'duplicate']);

    await h.runner.runDue();
    h.advance(60_000);
    await h.runner.runDue();

    expect((await h.store.effectsOf(event.id)).map((e) => e.kind)).toEqual(['revert', 'alert']);
    expect(h.tagPuts()).toHaveLength(1);
    expect(h.notifier.alerts).toHaveLength(1);
  });
});

describe('EffectRunner: resolving digests the source did not send', () => {
  const enqueueResolve = async (h: ReturnType<typeof harness>, seconds: number) => {
    const event = pushEvent({ digest: null, timestamp: at(seconds) });
    await h.store.enqueueEffects(
      event.id,
      [resolveEffect(event, ruleFor(policyOf('revert'), event), at(seconds))],
      at(seconds),
    );
    return event;
  };

  test('reads the digest from the registry, records the push, and acts on the overwrite it turns out to be', async () => {
    const h = harness({ action: 'revert', runner: { policy: policyOf('revert') } });
    const a = await h.pushAndRecord('a');
    const b = h.registry.push(REPO, TAG, 'b');
    const event = await enqueueResolve(h, 50);

    await h.runner.runDue();

    expect((await h.effect(event.id, 'resolve')).outcome).toBe(`resolved to ${b.digest}: overwrite`);
    expect((await h.store.history(REF)).map((r) => [r.transition, r.digest])).toEqual([
      ['first-seen', a.manifest.digest],
      ['overwrite', b.digest],
    ]);
    expect(h.registry.tagOf(REPO, TAG)).toBe(a.manifest.digest);
    expect(h.notifier.alerts).toHaveLength(1);
  });

  test('records nothing and retries while the registry cannot be asked, so a guess never counts as an overwrite', async () => {
    const h = harness({ action: 'revert', runner: { policy: policyOf('revert') } });
    await h.pushAndRecord('a');
    h.registry.push(REPO, TAG, 'b');
    h.registry.failNext('currentDigest', new TransientError('registry 503'));
    const event = await enqueueResolve(h, 50);

    await h.runner.runDue();

    expect(await h.effect(event.id, 'resolve')).toMatchObject({
      status: 'pending',
      attempts: 1,
      lastError: 'registry 503',
    });
    expect((await h.store.history(REF)).map((r) => r.transition)).toEqual(['first-seen']);
    h.advance(60_000);
    await h.runner.runDue();
    expect((await h.store.history(REF)).map((r) => r.transition)).toEqual(['first-seen', 'overwrite']);
  });

  test('a runner without a policy fails a resolve for good, saying so, and records nothing', async () => {
    const h = harness({ action: 'revert' });
    await h.pushAndRecord('a');
    h.registry.push(REPO, TAG, 'b');
    const event = await enqueueResolve(h, 50);

    await h.runner.runDue();

    expect(await h.effect(event.id, 'resolve')).toMatchObject({
      status: 'failed',
      attempts: 1,
      lastError: 'this runner has no policy to record resolved events with',
    });
    expect((await h.store.history(REF)).map((r) => r.transition)).toEqual(['first-seen']);
  });

  test('fails with a critical alert naming the config to add when no registry is configured for the host', async () => {
    const h = harness({
      action: 'revert',
      runner: { policy: policyOf('revert') },
      resolver: () => () => null,
    });
    const event = await enqueueResolve(h, 50);

    await h.runner.runDue();

    const resolve = await h.effect(event.id, 'resolve');
    expect(resolve.status).toBe('failed');
    expect(resolve.lastError).toContain(`add registries."${HOST}"`);
    expect(await h.store.history(REF)).toEqual([]);
    expect(h.notifier.alerts).toHaveLength(1);
    expect(h.notifier.alerts[0]).toMatchObject({ severity: 'critical' });
    expect(h.notifier.alerts[0]!.actionTaken).toMatch(/^resolve FAILED/);
  });
});
