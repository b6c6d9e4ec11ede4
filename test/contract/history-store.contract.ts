import fc from 'fast-check';
import { type Policy, resolveEffect, ruleFor, TransientError, tagRefOf } from '../../shared/core';
import { decodeOutcome, EffectRunner } from '../../shared/guard/effects';
import { type HistoryStore, rejectedItemsRecord, summarizeReasons } from '../../shared/history';
import { silentLogger } from '../../shared/log';
import { digestDeleteEvents } from '../../shared/sources';
import { at, deleteEvent, digestOf, noEffects, pushEvent } from '../support/events';
import { FakeRegistry } from '../support/fake-registry';
import { runOutboxFor } from '../support/outbox-clock';
import { RecordingNotifier } from '../support/recording-notifier';

const ref = tagRefOf(pushEvent());
const A = digestOf('a');
const B = digestOf('b');
const C = digestOf('c');
const RECEIVED = at(1000);
const revertPolicy: Policy = {
  defaults: { action: 'alert', owners: [], bump: false },
  rules: [{ match: { repository: 'payments/*' }, action: 'revert', owners: ['#payments'], bump: false }],
};

/** One contract for every HistoryStore adapter: the semantics in DESIGN.md, proven the same everywhere. */
export function describeHistoryStore(
  name: string,
  open: () => Promise<HistoryStore>,
  options: {
    propertyRuns?: number;
    /** The store offers the optional `outboxDepth` (metrics); when false or unset it may not. */
    outboxDepth?: boolean;
  } = {},
) {
  describe(`HistoryStore contract: ${name}`, () => {
    let store: HistoryStore;
    beforeEach(async () => {
      store = await open();
    });
    afterEach(async () => {
      await store.close();
    });

    it('records the first push of a tag as first-seen and keeps it in history', async () => {
      const result = await store.apply(pushEvent({ digest: A, timestamp: at(1) }), noEffects, RECEIVED);
      expect(result.transition).toEqual({ kind: 'first-seen', digest: A });
      expect((await store.tagState(ref))?.digest).toBe(A);
      const rows = await store.history(ref);
      expect(rows.map((r) => [r.transition, r.digest])).toEqual([['first-seen', A]]);
    });

    it('treats a re-push of the same digest as unchanged, so CI re-runs pass', async () => {
      await store.apply(pushEvent({ digest: A, timestamp: at(1) }), noEffects, RECEIVED);
      const result = await store.apply(pushEvent({ digest: A, timestamp: at(2) }), noEffects, RECEIVED);
      expect(result.transition).toEqual({ kind: 'unchanged', digest: A });
    });

    it('reports a new digest under a known tag as an overwrite naming both digests', async () => {
      await store.apply(pushEvent({ digest: A, timestamp: at(1) }), noEffects, RECEIVED);
      const result = await store.apply(pushEvent({ digest: B, timestamp: at(2) }), noEffects, RECEIVED);
      expect(result.transition).toEqual({ kind: 'overwrite', from: A, to: B });
      expect(result.previousDigest).toBe(A);
      expect((await store.tagState(ref))?.digest).toBe(B);
    });

    it('reports digests that differ only in their last hex character as an overwrite, never unchanged', async () => {
      const near = `${A.slice(0, -1)}${A.endsWith('0') ? '1' : '0'}`;
      await store.apply(pushEvent({ digest: A, timestamp: at(1) }), noEffects, RECEIVED);
      const result = await store.apply(pushEvent({ digest: near, timestamp: at(2) }), noEffects, RECEIVED);
      expect(result.transition).toEqual({ kind: 'overwrite', from: A, to: near });
      expect((await store.tagState(ref))?.digest).toBe(near);
    });

    it('gives one transition and one set of effects for an event delivered three times', async () => {
      await store.apply(pushEvent({ digest: A, timestamp: at(1) }), noEffects, RECEIVED);
      const overwrite = pushEvent({ digest: B, timestamp: at(2) });
      const results = [
        await store.apply(overwrite, revertPolicy, RECEIVED),
        await store.apply(overwrite, revertPolicy, RECEIVED),
        await store.apply({ ...overwrite }, revertPolicy, RECEIVED),
      ];
      expect(results.map((r) => r.transition.kind)).toEqual(['overwrite', 'duplicate', 'duplicate']);
      expect(results[1]!.effects).toEqual([]);
      expect((await store.effectsOf(overwrite.id)).map((e) => e.kind)).toEqual(['revert', 'alert']);
      expect(await store.history(ref)).toHaveLength(2);
    });

    it('applies a batch in order exactly as one apply after another, duplicates inside the batch included', async () => {
      const first = pushEvent({ digest: A, timestamp: at(1) });
      const results = await store.applyAll(
        [
          first,
          pushEvent({ digest: B, timestamp: at(2) }),
          first,
          pushEvent({ digest: A, timestamp: at(0) }),
        ],
        revertPolicy,
        RECEIVED,
      );
      expect(results.map((r) => r.transition.kind)).toEqual([
        'first-seen',
        'overwrite',
        'duplicate',
        'stale',
      ]);
      expect(results[1]!.effects.map((e) => e.kind)).toEqual(['revert', 'alert']);
      expect(await store.history(ref)).toHaveLength(3);
    });

    it("finds only an event's own effects, even when its id is a prefix of another id with #", async () => {
      await store.apply(pushEvent({ id: 'seed', digest: A, timestamp: at(1) }), revertPolicy, RECEIVED);
      await store.apply(pushEvent({ id: 'e1', digest: B, timestamp: at(2) }), revertPolicy, RECEIVED);
      await store.apply(pushEvent({ id: 'e1#x', digest: C, timestamp: at(3) }), revertPolicy, RECEIVED);
      expect((await store.effectsOf('e1')).map((e) => e.key)).toEqual(['e1#revert', 'e1#alert']);
    });

    it('keeps a late, older event in history as stale without moving the tag back', async () => {
      await store.apply(pushEvent({ digest: B, timestamp: at(2) }), noEffects, RECEIVED);
      await store.apply(pushEvent({ digest: B, timestamp: at(3) }), noEffects, RECEIVED);
      const late = await store.apply(pushEvent({ digest: A, timestamp: at(1) }), revertPolicy, RECEIVED);
      expect(late.transition).toEqual({ kind: 'stale', digest: A, current: B });
      expect(late.effects).toEqual([]);
      expect((await store.tagState(ref))?.digest).toBe(B);
      expect((await store.history(ref)).map((r) => r.transition)).toEqual([
        'first-seen',
        'unchanged',
        'stale',
      ]);
    });

    it("records a push delivered after a newer one, when that is the tag's only push, as overwritten: the late digest was first, and a revert puts it back", async () => {
      const revert = revertPolicy;
      await store.apply(pushEvent({ digest: B, timestamp: at(2) }), revert, RECEIVED);
      const late = await store.apply(pushEvent({ digest: A, timestamp: at(1) }), revert, RECEIVED);
      expect(late.transition).toEqual({ kind: 'overwritten', digest: A, by: B });
      expect(late.effects.map((e) => e.kind)).toEqual(['revert', 'alert']);
      expect(late.effects[0]?.effect).toMatchObject({ incident: { from: A, to: B, restoreTo: A } });
      // The tag still serves B until the revert; A, the first digest, is the approved one.
      expect(await store.tagState(ref)).toMatchObject({ digest: B, approvedDigest: A });
      expect((await store.history(ref)).map((r) => [r.digest, r.transition])).toEqual([
        [B, 'first-seen'],
        [A, 'overwritten'],
      ]);
      // Under a rule that lets it stand, B is approved; a further late push is only stale.
      const other = tagRefOf(pushEvent({ repository: 'web/site' }));
      await store.apply(pushEvent({ repository: 'web/site', digest: B, timestamp: at(2) }), revert, RECEIVED);
      await store.apply(pushEvent({ repository: 'web/site', digest: A, timestamp: at(1) }), revert, RECEIVED);
      expect(await store.tagState(other)).toMatchObject({ digest: B, approvedDigest: B });
      const later = await store.apply(
        pushEvent({ repository: 'web/site', digest: C, timestamp: at(0) }),
        revert,
        RECEIVED,
      );
      expect(later.transition.kind).toBe('stale');
    });

    it('orders sub-millisecond timestamps as the registry sent them', async () => {
      await store.apply(
        pushEvent({ digest: B, timestamp: '2026-11-22T10:00:00.000000500Z' }),
        noEffects,
        RECEIVED,
      );
      const late = await store.apply(
        pushEvent({ digest: A, timestamp: '2026-11-22T10:00:00.0000004Z' }),
        noEffects,
        RECEIVED,
      );
      expect(late.transition.kind).toBe('overwritten');
    });

    it('keeps the approved digest through an overwrite being reverted, and approves one that is not', async () => {
      const revert = revertPolicy;
      await store.apply(pushEvent({ digest: A, timestamp: at(1) }), revert, RECEIVED);
      await store.apply(pushEvent({ digest: B, timestamp: at(2) }), revert, RECEIVED);
      expect(await store.tagState(ref)).toMatchObject({ digest: B, approvedDigest: A });
      const third = await store.apply(pushEvent({ digest: C, timestamp: at(3) }), revert, RECEIVED);
      expect(third.effects[0]?.effect).toMatchObject({
        kind: 'revert',
        incident: { from: B, to: C, restoreTo: A },
      });
      const other = tagRefOf(pushEvent({ repository: 'web/site' }));
      await store.apply(pushEvent({ repository: 'web/site', digest: A, timestamp: at(1) }), revert, RECEIVED);
      await store.apply(pushEvent({ repository: 'web/site', digest: B, timestamp: at(2) }), revert, RECEIVED);
      expect(await store.tagState(other)).toMatchObject({ digest: B, approvedDigest: B });
    });

    it('approves a digest only while the tag serves it, so the next revert restores it', async () => {
      await store.apply(pushEvent({ digest: A, timestamp: at(1) }), revertPolicy, RECEIVED);
      await store.apply(pushEvent({ digest: B, timestamp: at(2) }), revertPolicy, RECEIVED);
      expect(await store.tagState(ref)).toMatchObject({ digest: B, approvedDigest: A });
      expect(await store.approveDigest(ref, A)).toBe(false); // the tag serves B, not A
      expect(await store.approveDigest(tagRefOf(pushEvent({ tag: 'unknown' })), B)).toBe(false);
      expect((await store.tagState(ref))?.approvedDigest).toBe(A);
      expect(await store.approveDigest(ref, B)).toBe(true);
      expect(await store.tagState(ref)).toMatchObject({ digest: B, approvedDigest: B });
      const next = await store.apply(pushEvent({ digest: C, timestamp: at(3) }), revertPolicy, RECEIVED);
      expect(next.effects[0]?.effect).toMatchObject({
        kind: 'revert',
        incident: { from: B, to: C, restoreTo: B },
      });
      expect(await store.approveDigest(ref, B)).toBe(false); // moved on to C since
      expect((await store.tagState(ref))?.approvedDigest).toBe(B);
    });

    it('classifies the echo of its own revert as restored, not as a new overwrite', async () => {
      await store.apply(pushEvent({ digest: A, timestamp: at(1) }), noEffects, RECEIVED);
      await store.apply(pushEvent({ digest: B, timestamp: at(2) }), noEffects, RECEIVED);
      expect(await store.markPendingRestore(ref, { digest: A, from: B, until: at(2000) })).toBe(true);
      const echo = await store.apply(pushEvent({ digest: A, timestamp: at(3) }), revertPolicy, RECEIVED);
      expect(echo.transition).toEqual({ kind: 'restored', digest: A, replaced: B });
      expect(echo.effects).toEqual([]);
      expect((await store.tagState(ref))?.pendingRestore).toBeNull();
      const again = await store.apply(pushEvent({ digest: B, timestamp: at(4) }), noEffects, RECEIVED);
      expect(again.transition).toEqual({ kind: 'overwrite', from: A, to: B });
    });

    it('refuses to record a pending restore when the tag no longer serves the digest being replaced', async () => {
      await store.apply(pushEvent({ digest: A, timestamp: at(1) }), noEffects, RECEIVED);
      await store.apply(pushEvent({ digest: B, timestamp: at(2) }), noEffects, RECEIVED);
      await store.apply(pushEvent({ digest: C, timestamp: at(3) }), noEffects, RECEIVED);
      expect(await store.markPendingRestore(ref, { digest: A, from: B, until: at(2000) })).toBe(false);
      // Nothing was recorded: a later push of A is an overwrite of C, not the echo of a restore.
      expect((await store.tagState(ref))?.pendingRestore).toBeNull();
      const later = await store.apply(pushEvent({ digest: A, timestamp: at(4) }), noEffects, RECEIVED);
      expect(later.transition).toEqual({ kind: 'overwrite', from: C, to: A });
      expect(
        await store.markPendingRestore(tagRefOf(pushEvent({ tag: 'unknown' })), {
          digest: A,
          from: B,
          until: at(2000),
        }),
      ).toBe(false);
    });

    it('stops expecting a restore echo once the pending restore has expired or been cleared', async () => {
      await store.apply(pushEvent({ digest: A, timestamp: at(1) }), noEffects, RECEIVED);
      await store.apply(pushEvent({ digest: B, timestamp: at(2) }), noEffects, RECEIVED);
      await store.markPendingRestore(ref, { digest: A, from: B, until: at(500) });
      const afterExpiry = await store.apply(pushEvent({ digest: A, timestamp: at(3) }), noEffects, at(501));
      expect(afterExpiry.transition).toEqual({ kind: 'overwrite', from: B, to: A });
      await store.markPendingRestore(ref, { digest: B, from: A, until: at(2000) });
      await store.clearPendingRestore(ref, B);
      expect((await store.tagState(ref))?.pendingRestore).toBeNull();
    });

    it('treats a tag deleted and pushed again with another digest as an overwrite of what it served', async () => {
      await store.apply(pushEvent({ digest: A, timestamp: at(1) }), noEffects, RECEIVED);
      const deleted = await store.apply(deleteEvent({ timestamp: at(2) }), noEffects, RECEIVED);
      expect(deleted.transition).toEqual({ kind: 'deleted', digest: A });
      expect((await store.tagState(ref))?.digest).toBeNull();
      const repushed = await store.apply(pushEvent({ digest: B, timestamp: at(3) }), noEffects, RECEIVED);
      expect(repushed.transition).toEqual({ kind: 'overwrite', from: A, to: B });
    });

    it('records a refused push as an attempt row without moving the tag, alerting once per actor and window with a count', async () => {
      const origin = { sourceIp: '203.0.113.12', userAgent: 'docker/24.0.7' };
      const attempt = (actor: string, seconds: number) =>
        pushEvent({ action: 'attempt', digest: B, actor, origin, timestamp: at(seconds) });
      await store.apply(pushEvent({ digest: A, timestamp: at(1) }), noEffects, RECEIVED);
      const first = await store.apply(attempt('mallory', 2), noEffects, RECEIVED);
      expect(first.transition).toEqual({
        kind: 'attempt',
        serving: A,
        attempted: B,
        count: 1,
        grouped: false,
        closed: null,
      });
      expect(first.effects.map((e) => e.kind)).toEqual(['alert']);
      expect(first.effects[0]!.effect.incident).toMatchObject({
        from: A,
        to: B,
        actor: 'mallory',
        attempt: { ...origin, windowMs: 600_000, earlier: null },
      });
      // CI retrying: counted, not alerted again within the window.
      for (const seconds of [60, 120]) {
        const retry = await store.apply(attempt('mallory', seconds), noEffects, RECEIVED);
        expect(retry.effects).toEqual([]);
      }
      const third = await store.apply(attempt('mallory', 300), noEffects, RECEIVED);
      expect(third.transition).toMatchObject({ count: 4, grouped: true });
      // The window ended: a new alert, telling of the attempts the first one grouped.
      const later = await store.apply(attempt('mallory', 602), noEffects, RECEIVED);
      expect(later.transition).toMatchObject({
        count: 1,
        grouped: false,
        closed: { actor: 'mallory', since: at(2), count: 4 },
      });
      expect(later.effects.map((e) => e.kind)).toEqual(['alert']);
      const other = await store.apply(attempt('eve', 603), noEffects, RECEIVED);
      expect(other.effects.map((e) => e.kind)).toEqual(['alert']);
      const state = await store.tagState(ref);
      expect([state?.digest, state?.approvedDigest, state?.eventTime]).toEqual([A, A, at(1)]);
      const rows = await store.history(ref);
      expect(rows.map((r) => [r.action, r.transition, r.digest, r.previousDigest])).toEqual([
        ['push', 'first-seen', A, null],
        ...Array.from({ length: 6 }, () => ['attempt', 'attempt', B, A]),
      ]);
      const moved = await store.apply(pushEvent({ digest: C, timestamp: at(700) }), noEffects, RECEIVED);
      expect(moved.transition).toEqual({ kind: 'overwrite', from: A, to: C });
    });

    it("groups attempts for the policy's attemptWindowMs, and lets the push that created an unseen tag land first-seen after an attempt", async () => {
      const short: Policy = { ...noEffects, attemptWindowMs: 1000 };
      const attempt = (seconds: number) =>
        pushEvent({ action: 'attempt', digest: null, actor: 'mallory', timestamp: at(seconds) });
      const first = await store.apply(attempt(5), short, RECEIVED);
      expect(first.transition).toMatchObject({ kind: 'attempt', serving: null, attempted: null, count: 1 });
      expect(first.effects[0]!.effect.incident.attempt?.windowMs).toBe(1000);
      const second = await store.apply(attempt(7), short, RECEIVED);
      expect(second.effects.map((e) => e.kind)).toEqual(['alert']);
      expect((await store.tagState(ref))?.digest).toBeNull();
      const created = await store.apply(pushEvent({ digest: A, timestamp: at(1) }), short, RECEIVED);
      expect(created.transition).toEqual({ kind: 'first-seen', digest: A });
      expect((await store.tagState(ref))?.digest).toBe(A);
    });

    it('uses the time it received an event when the source sends none', async () => {
      await store.apply(pushEvent({ digest: A, timestamp: null }), noEffects, at(10));
      const second = await store.apply(pushEvent({ digest: B, timestamp: null }), noEffects, at(11));
      expect(second.transition.kind).toBe('overwrite');
      expect(second.eventTime).toBe(at(11));
    });

    it('persists effects with the transition and walks them through retry, done and failed', async () => {
      await store.apply(pushEvent({ digest: A, timestamp: at(1) }), noEffects, RECEIVED);
      const overwrite = pushEvent({ digest: B, timestamp: at(2) });
      const result = await store.apply(overwrite, revertPolicy, RECEIVED);
      expect(result.effects.map((e) => [e.key, e.status, e.position])).toEqual([
        [`${overwrite.id}#revert`, 'pending', 0],
        [`${overwrite.id}#alert`, 'pending', 1],
      ]);
      expect((await store.claimDueEffects(RECEIVED, at(1002), 10)).map((e) => e.kind)).toEqual([
        'revert',
        'alert',
      ]);
      // Claimed effects are leased: nobody else gets them until the lease passes.
      expect(await store.claimDueEffects(at(1001), at(1002), 10)).toEqual([]);
      await store.updateEffect(
        `${overwrite.id}#revert`,
        { status: 'pending', error: 'registry 503', nextAttemptAt: at(1005) },
        RECEIVED,
      );
      expect((await store.claimDueEffects(at(1002), at(1003), 10)).map((e) => e.kind)).toEqual(['alert']);
      await store.updateEffect(
        `${overwrite.id}#alert`,
        { status: 'waiting', nextAttemptAt: at(1005) },
        RECEIVED,
      );
      expect((await store.claimDueEffects(at(1005), at(1006), 10)).map((e) => e.kind)).toEqual([
        'revert',
        'alert',
      ]);
      await store.updateEffect(
        `${overwrite.id}#revert`,
        { status: 'done', outcome: `reverted to ${A}` },
        at(1006),
      );
      await store.updateEffect(
        `${overwrite.id}#alert`,
        { status: 'failed', error: 'slack 400 invalid_payload' },
        at(1006),
      );
      const [revert, alert] = await store.effectsOf(overwrite.id);
      expect(revert).toMatchObject({
        status: 'done',
        attempts: 2,
        outcome: `reverted to ${A}`,
        lastError: 'registry 503',
      });
      expect(alert).toMatchObject({ status: 'failed', attempts: 1, lastError: 'slack 400 invalid_payload' }); // waiting is no attempt
      expect(revert!.effect).toMatchObject({
        kind: 'revert',
        incident: { from: A, to: B, owners: ['#payments'] },
      });
      expect((await store.failedEffects(10)).map((e) => e.key)).toEqual([`${overwrite.id}#alert`]);
      expect(await store.claimDueEffects(at(9999), at(10000), 10)).toEqual([]);
    });

    it('renews a lease only for its holder, and never once another worker has claimed or settled it', async () => {
      await store.apply(pushEvent({ digest: A, timestamp: at(1) }), noEffects, RECEIVED);
      const overwrite = pushEvent({ digest: B, timestamp: at(2) });
      await store.apply(overwrite, revertPolicy, RECEIVED);
      const [revert, alert] = [`${overwrite.id}#revert`, `${overwrite.id}#alert`];
      expect(await store.claimDueEffects(RECEIVED, at(1010), 10)).toHaveLength(2);
      // The holder renews: nobody may claim it before the new lease passes.
      expect(await store.renewLease(revert, at(1010), at(1020))).toBe(true);
      expect((await store.claimDueEffects(at(1010), at(1030), 10)).map((e) => e.key)).toEqual([alert]);
      // The first lease on the alert passed and another worker claimed it: the old holder's renewal fails.
      expect(await store.renewLease(alert, at(1010), at(1040))).toBe(false);
      expect(await store.renewLease(alert, at(1030), at(1040))).toBe(true);
      expect(await store.claimDueEffects(at(1019), at(1050), 10)).toEqual([]);
      // A settled effect is nobody's to renew.
      await store.updateEffect(revert, { status: 'done', outcome: 'reverted' }, at(1011));
      expect(await store.renewLease(revert, at(1020), at(1050))).toBe(false);
      expect(await store.renewLease(`${overwrite.id}#lock`, at(1020), at(1050))).toBe(false);
      expect((await store.claimDueEffects(at(1040), at(1060), 10)).map((e) => e.key)).toEqual([alert]);
    });

    it('reads the outbox depth: every pending effect counted, the earliest next attempt among them', async () => {
      if (!store.outboxDepth) return expect(options.outboxDepth ?? false).toBe(false);
      expect(await store.outboxDepth()).toEqual({ pending: 0, oldestDueAt: null });
      await store.apply(pushEvent({ digest: A, timestamp: at(1) }), noEffects, RECEIVED);
      const overwrite = pushEvent({ digest: B, timestamp: at(2) });
      await store.apply(overwrite, revertPolicy, at(1001));
      expect(await store.outboxDepth()).toEqual({ pending: 2, oldestDueAt: at(1001) });
      // A claimed effect stays pending under its lease; a settled one leaves the count.
      const [revert] = await store.claimDueEffects(at(1002), at(1100), 1);
      expect(await store.outboxDepth()).toEqual({ pending: 2, oldestDueAt: at(1001) });
      await store.updateEffect(revert!.key, { status: 'done', outcome: 'reverted' }, at(1003));
      expect(await store.outboxDepth()).toEqual({ pending: 1, oldestDueAt: at(1001) });
      await store.updateEffect(`${overwrite.id}#alert`, { status: 'failed', error: 'slack 400' }, at(1004));
      expect(await store.outboxDepth()).toEqual({ pending: 0, oldestDueAt: null });
    });

    it('lets an alert go out before its revert settles once the wait runs out, and alert again only when the revert fails for good', async () => {
      const registry = new FakeRegistry();
      const notifier = new RecordingNotifier();
      const clock = { current: new Date(at(3)) }; // a second after the overwrite
      const runner = new EffectRunner({
        store,
        registries: () => registry,
        notifier,
        log: silentLogger,
        now: () => clock.current,
        random: () => 0.5,
        maxAttempts: 2,
        alertWaitMs: 500,
      });
      const overwrite = async (tag: string) => {
        const a = registry.push(ref.repository, tag, `${tag}-a`);
        await store.apply(pushEvent({ tag, digest: a.digest, timestamp: at(1) }), revertPolicy, at(1));
        const b = registry.push(ref.repository, tag, `${tag}-b`);
        const event = pushEvent({ tag, digest: b.digest, timestamp: at(2) });
        await store.apply(event, revertPolicy, at(2));
        return { a, event };
      };
      // The registry refuses the first 4 attempts (the first and the quick retries), then recovers.
      const recovers = await overwrite('v1');
      registry.failNext('currentDigest', new TransientError('connect ECONNREFUSED'), { times: 4 });
      await runOutboxFor(runner, store, clock, recovers.event.id, 174);
      expect(notifier.alerts).toEqual([]);
      await runOutboxFor(runner, store, clock, recovers.event.id, 10 * 60_000);
      expect(registry.tagOf(ref.repository, 'v1')).toBe(recovers.a.digest);
      expect(notifier.alerts.map((a) => a.actionTaken)).toEqual([
        expect.stringMatching(/^revert not done yet \(attempt 4: connect ECONNREFUSED\)/),
      ]);
      const alerted = (await store.effectsOf(recovers.event.id)).find((e) => e.kind === 'alert');
      expect(decodeOutcome(alerted!.outcome)).toEqual({
        kind: 'alerted',
        via: 'recording',
        before: ['revert'],
      });
      // Refusing for good this time: one more alert, when the revert fails.
      const fails = await overwrite('v2');
      registry.failNext('currentDigest', new TransientError('connect ECONNREFUSED'), { times: 100 });
      await runOutboxFor(runner, store, clock, fails.event.id, 60 * 60_000);
      expect(notifier.alerts.map((a) => a.title)).toEqual([undefined, undefined, 'Revert failed']);
      expect(notifier.alerts[2]!.actionTaken).toBe('revert FAILED after 5 attempt(s): connect ECONNREFUSED');
    });

    it('keeps one queued effect per key, however often it is enqueued, outside any transition', async () => {
      const waiting = pushEvent({ digest: null, timestamp: at(1) });
      const effect = resolveEffect(waiting, ruleFor(revertPolicy, waiting), RECEIVED);
      await store.enqueueEffects(waiting.id, [effect], RECEIVED);
      await store.enqueueEffects(waiting.id, [effect], RECEIVED);
      const queued = await store.effectsOf(waiting.id);
      expect(queued.map((e) => [e.key, e.status])).toEqual([[`${waiting.id}#resolve`, 'pending']]);
      expect(queued[0]!.effect).toMatchObject({ kind: 'resolve', event: { id: waiting.id, digest: null } });
      expect(await store.history(ref)).toEqual([]);
    });

    it('keeps failed records for an operator to list, newest first', async () => {
      await store.recordFailure({
        source: 'distribution',
        reason: 'events[0]: bad digest',
        payload: '{"a":1}',
        receivedAt: at(1),
      });
      await store.recordFailure({ source: 'ecr', reason: 'bad tag', payload: '{"b":2}', receivedAt: at(2) });
      const failures = await store.failures(10);
      expect(failures.map((f) => f.source)).toEqual(['ecr', 'distribution']);
      expect(failures[1]).toMatchObject({ reason: 'events[0]: bad digest', payload: '{"a":1}' });
    });

    it('keeps a 1 MiB body with the summary of its rejected items as one record, byte for byte', async () => {
      const items = Array.from({ length: 300_000 }, () => '{}');
      const payload = `[${items.join(',')}]${' é'.repeat(((1 << 20) - 2 - items.length * 3) / 3)}`;
      const reasons = items.map((_, i) => `[${i}]: not an EventBridge event: source is missing`);
      const before = await store.failures(10);
      await store.recordFailure(rejectedItemsRecord('ecr', reasons, payload, at(3)));
      const after = await store.failures(10);
      expect(after).toHaveLength(before.length + 1);
      expect(after[0]!.reason).toBe(summarizeReasons(reasons));
      expect(after[0]!.reason).toMatch(/^300000 items rejected: \[0\]: .*; and 299980 more$/);
      expect(after[0]!.payload.length === payload.length && after[0]!.payload === payload).toBe(true);
    });

    it('records a manifest deleted by digest against a tag serving it and one whose revert would restore it', async () => {
      const tag = (t: string) => ({ ...ref, tag: t });
      await store.apply(pushEvent({ tag: 'serving', digest: A, timestamp: at(1) }), revertPolicy, RECEIVED);
      await store.apply(pushEvent({ tag: 'reverting', digest: A, timestamp: at(1) }), revertPolicy, RECEIVED);
      await store.apply(pushEvent({ tag: 'reverting', digest: B, timestamp: at(2) }), revertPolicy, RECEIVED);
      await store.apply(pushEvent({ tag: 'other', digest: C, timestamp: at(1) }), revertPolicy, RECEIVED);
      // Served A once, then moved on and approved C: no longer named by A.
      await store.apply(pushEvent({ tag: 'moved', digest: A, timestamp: at(1) }), noEffects, RECEIVED);
      await store.apply(pushEvent({ tag: 'moved', digest: C, timestamp: at(2) }), noEffects, RECEIVED);
      expect(await store.tagsServing(ref.registryHost, ref.repository, A)).toEqual([
        tag('reverting'),
        tag('serving'),
      ]);
      expect(await store.tagsServing(ref.registryHost, ref.repository, C)).toEqual([
        tag('moved'),
        tag('other'),
      ]);
      expect(await store.tagsServing(ref.registryHost, 'payments/other', A)).toEqual([]);
      const deleted = { id: 'del-1', registryHost: ref.registryHost, repository: ref.repository, digest: A };
      const events = digestDeleteEvents({ ...deleted, timestamp: at(3), actor: 'mallory' }, [
        tag('reverting'),
        tag('serving'),
        tag('other'),
      ]);
      const results = await store.applyAll([...events, events[0]!], revertPolicy, RECEIVED);
      expect(results.map((r) => r.transition.kind)).toEqual([
        'digest-deleted',
        'digest-deleted',
        'stale',
        'duplicate',
      ]);
      expect(results.map((r) => r.effects.map((e) => e.kind))).toEqual([['alert'], ['alert'], [], []]);
      expect((await store.tagState(tag('serving')))?.digest).toBeNull();
      expect((await store.tagState(tag('reverting')))?.digest).toBe(B);
      const rows = await store.history(tag('serving'));
      expect(rows.map((r) => [r.action, r.transition, r.digest, r.actor])).toEqual([
        ['push', 'first-seen', A, 'alice'],
        ['delete', 'digest-deleted', A, 'mallory'],
      ]);
      const again = await store.apply(
        pushEvent({ tag: 'serving', digest: C, timestamp: at(4) }),
        noEffects,
        RECEIVED,
      );
      expect(again.transition).toEqual({ kind: 'overwrite', from: A, to: C });
    });

    it('serializes concurrent applies on one tag: one first-seen, the change between them seen either way, both digests kept', async () => {
      const first = pushEvent({ digest: A, timestamp: at(1) });
      const second = pushEvent({ digest: B, timestamp: at(2) });
      const [one, two] = await Promise.all([
        store.apply(first, noEffects, RECEIVED),
        store.apply(second, noEffects, RECEIVED),
      ]);
      // Which commits first is the store's business (a real concurrent store may take either); what
      // must hold is that the later commit saw the earlier one: never two first-seen, never a lost update.
      if (one!.transition.kind === 'first-seen')
        expect(two!.transition).toEqual({ kind: 'overwrite', from: A, to: B });
      else {
        // The newer committed first: the older is found to have been overwritten by it.
        expect(two!.transition).toEqual({ kind: 'first-seen', digest: B });
        expect(one!.transition).toEqual({ kind: 'overwritten', digest: A, by: B });
      }
      expect((await store.history(ref)).map((r) => r.digest).sort()).toEqual([A, B].sort());
      expect((await store.tagState(ref))?.digest).toBe(B);
    });

    it('holds for any interleaving, duplication and reordering of a push sequence (property)', async () => {
      await store.close();
      const digests = ['a', 'b', 'c'].map(digestOf);
      const scenario = fc
        .array(fc.integer({ min: 0, max: 2 }), { minLength: 1, maxLength: 12 })
        .chain((picks) =>
          fc.record({
            picks: fc.constant(picks),
            // Each delivery names an event by index; duplicates and any order allowed, every event at least once.
            extra: fc.array(fc.integer({ min: 0, max: picks.length - 1 }), { maxLength: picks.length * 2 }),
            order: fc.array(fc.double({ min: 0, max: 1, noNaN: true }), {
              minLength: picks.length * 3,
              maxLength: picks.length * 3,
            }),
            inOrder: fc.boolean(),
          }),
        );
      await fc.assert(
        fc.asyncProperty(scenario, async ({ picks, extra, order, inOrder }) => {
          const s = await open();
          try {
            const events = picks.map((p, i) => pushEvent({ digest: digests[p]!, timestamp: at(i + 1) }));
            let deliveries = [...picks.keys(), ...extra];
            if (inOrder) deliveries.sort((x, y) => x - y);
            else
              deliveries = deliveries
                .map((d, i) => [d, order[i] ?? 0] as const)
                .sort((x, y) => x[1] - y[1])
                .map(([d]) => d);
            const applied: { index: number; kind: string; from?: string; to?: string }[] = [];
            for (const index of deliveries) {
              const result = await s.apply(events[index]!, noEffects, RECEIVED);
              applied.push({
                index,
                kind: result.transition.kind,
                ...(result.transition.kind === 'overwrite'
                  ? { from: result.transition.from, to: result.transition.to }
                  : result.transition.kind === 'overwritten'
                    ? { from: result.transition.digest, to: result.transition.by }
                    : {}),
              });
            }
            // Every event gets exactly one real transition; every redelivery is a duplicate.
            for (const i of picks.keys()) {
              expect(applied.filter((a) => a.index === i && a.kind !== 'duplicate')).toHaveLength(1);
            }
            // Each overwrite is a real digest change between the tag's current digest and a newer push.
            const realChanges = picks.filter((p, i) => i > 0 && p !== picks[i - 1]).length;
            const overwrites = applied.filter((a) => a.kind === 'overwrite');
            // A late push found overwritten by the tag's only recorded push is a change seen late.
            const detected = applied.filter((a) => a.kind === 'overwrite' || a.kind === 'overwritten');
            for (const o of detected) expect(o.from).not.toBe(o.to);
            expect(detected.length).toBeLessThanOrEqual(realChanges);
            // A new tag pushed twice with different digests has its change seen in either order.
            if (picks.length === 2 && picks[0] !== picks[1]) expect(detected).toHaveLength(1);
            // Delivered in time order (with duplicates anywhere), exactly one overwrite per real change.
            if (inOrder) expect(overwrites).toHaveLength(realChanges);
            // The tag follows the newest event; history holds every digest pushed, once per event.
            expect((await s.tagState(ref))?.digest).toBe(digests[picks.at(-1)!]);
            const rows = await s.history(ref);
            expect(rows).toHaveLength(picks.length);
            expect(new Set(rows.map((r) => r.digest))).toEqual(new Set(picks.map((p) => digests[p])));
            // Non-stale rows, in the order recorded, form a chain whose changes are exactly the overwrites.
            const moving = rows.filter((r) => r.transition !== 'stale' && r.transition !== 'overwritten');
            const chainChanges = moving.filter((r, i) => i > 0 && r.digest !== moving[i - 1]!.digest).length;
            expect(overwrites).toHaveLength(chainChanges);
          } finally {
            await s.close();
          }
        }),
        { numRuns: options.propertyRuns ?? 200 },
      );
      store = await open();
    });
  });
}
