import {
  type DriftFindingFacts,
  diffDrift,
  type Effect,
  type KeyedFinding,
  type OpenFinding,
  tagRefOf,
} from '../../shared/core';
import type { DriftLog, DriftPlan, Outbox } from '../../shared/history';
import { at, digestOf, pushEvent } from '../support/events';

const A = digestOf('a');
const B = digestOf('b');
const ref = tagRefOf(pushEvent());

export function finding(overrides: Partial<DriftFindingFacts> = {}): DriftFindingFacts {
  return {
    kind: 'split',
    workload: { kind: 'Deployment', namespace: 'payments', name: 'api' },
    container: 'api',
    ...ref,
    running: [
      { digest: A, pods: 3 },
      { digest: B, pods: 2 },
    ],
    tagDigest: A,
    ...overrides,
  };
}

export const keyed = (key: string, f = finding()): KeyedFinding => ({ key, finding: f });

function alertOf(eventId: string): Effect {
  return {
    kind: 'alert',
    after: null,
    incident: {
      eventId,
      ref,
      from: A,
      to: B,
      restoreTo: null,
      actor: null,
      eventTime: at(0),
      ruleAction: 'alert',
      ruleSource: 'defaults',
      owners: [],
    },
  };
}

/** A plan as the receiver makes one: the snapshot diff, one alert per opened finding. */
export function planFor(reported: KeyedFinding[], truncated = false): (open: OpenFinding[]) => DriftPlan {
  return (open) => {
    const diff = diffDrift(open, reported, truncated);
    return {
      diff,
      effects: diff.opened.map((f) => ({ eventId: `drift-${f.key}`, effects: [alertOf(`drift-${f.key}`)] })),
    };
  };
}

/** One contract for every DriftLog: a report is a snapshot, recorded at most once, alerts with it. */
export function describeDriftLog(
  name: string,
  open: () => Promise<{ drift: DriftLog; outbox: Pick<Outbox, 'effectsOf'>; close(): Promise<void> }>,
) {
  describe(`DriftLog contract: ${name}`, () => {
    let store: Awaited<ReturnType<typeof open>>;
    beforeEach(async () => {
      store = await open();
    });
    afterEach(async () => {
      await store.close();
    });
    const report = (
      id: string,
      findings: KeyedFinding[],
      options: { cluster?: string; truncated?: boolean; at?: string } = {},
    ) =>
      store.drift.applyReport(
        {
          cluster: options.cluster ?? 'prod-eu',
          reportId: id,
          receivedAt: options.at ?? at(10),
          forgetBefore: at(0),
        },
        planFor(findings, options.truncated),
      );

    it('opens a new finding with a drift row on its tag and its alert in the outbox', async () => {
      expect(await report('r1', [keyed('k1')])).toEqual({ kind: 'applied', opened: 1, cleared: 0 });
      const open = await store.drift.openFindings('prod-eu');
      expect(open.map((f) => [f.cluster, f.key, f.reportId, f.openedAt])).toEqual([
        ['prod-eu', 'k1', 'r1', at(10)],
      ]);
      expect(open[0]!.finding).toEqual(finding());
      const rows = await store.drift.driftHistory(ref);
      expect(rows.map((r) => [r.change, r.cluster, r.key, r.reportId])).toEqual([
        ['opened', 'prod-eu', 'k1', 'r1'],
      ]);
      expect((await store.outbox.effectsOf('drift-k1')).map((e) => [e.key, e.status])).toEqual([
        ['drift-k1#alert', 'pending'],
      ]);
    });

    it('changes nothing on a repeat report, and refuses a report id it has recorded', async () => {
      await report('r1', [keyed('k1')]);
      expect(await report('r2', [keyed('k1')])).toEqual({ kind: 'applied', opened: 0, cleared: 0 });
      expect(await report('r1', [])).toEqual({ kind: 'replay' });
      expect((await store.drift.openFindings()).map((f) => f.key)).toEqual(['k1']);
      expect(await store.drift.driftHistory(ref)).toHaveLength(1);
    });

    it('clears an open finding a later report no longer carries, with a row, and opens it again later', async () => {
      await report('r1', [keyed('k1')]);
      expect(await report('r2', [], { at: at(20) })).toEqual({ kind: 'applied', opened: 0, cleared: 1 });
      expect(await store.drift.openFindings('prod-eu')).toEqual([]);
      expect(await report('r3', [keyed('k1')], { at: at(30) })).toEqual({
        kind: 'applied',
        opened: 1,
        cleared: 0,
      });
      const rows = await store.drift.driftHistory(ref);
      expect(rows.map((r) => [r.change, r.reportId, r.receivedAt])).toEqual([
        ['opened', 'r1', at(10)],
        ['cleared', 'r2', at(20)],
        ['opened', 'r3', at(30)],
      ]);
    });

    it('clears nothing on a truncated report, and keeps clusters apart', async () => {
      await report('r1', [keyed('k1')]);
      await report('r1', [keyed('k2')], { cluster: 'prod-us' });
      expect(await report('r2', [], { truncated: true })).toEqual({ kind: 'applied', opened: 0, cleared: 0 });
      expect(await report('r3', [keyed('k2')])).toEqual({ kind: 'applied', opened: 1, cleared: 1 });
      expect((await store.drift.openFindings()).map((f) => [f.cluster, f.key])).toEqual([
        ['prod-eu', 'k2'],
        ['prod-us', 'k2'],
      ]);
      expect((await store.drift.openFindings('prod-us')).map((f) => f.key)).toEqual(['k2']);
    });

    it('forgets report ids received before forgetBefore', async () => {
      await report('r1', [keyed('k1')], { at: at(-100) });
      expect(await report('r1', [keyed('k1')])).toEqual({ kind: 'applied', opened: 0, cleared: 0 });
    });

    it('writes nothing when the plan throws', async () => {
      await expect(
        store.drift.applyReport(
          { cluster: 'prod-eu', reportId: 'r9', receivedAt: at(10), forgetBefore: at(0) },
          () => {
            throw new Error('plan failed');
          },
        ),
      ).rejects.toThrow('plan failed');
      expect(await report('r9', [keyed('k1')])).toEqual({ kind: 'applied', opened: 1, cleared: 0 });
    });
  });
}
