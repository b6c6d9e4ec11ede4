import type { Policy } from '../../shared/core';
import { reconcile } from '../../shared/guard/sweep';
import { MemoryHistoryStore } from '../../shared/history';
import { silentLogger } from '../../shared/log';
import { at, digestOf } from '../support/events';

const TARGET = { registryHost: '127.0.0.1:5000', repository: 'payments/api' };
const MEDIA_TYPE = 'application/vnd.oci.image.manifest.v1+json';
const policy: Policy = {
  defaults: { action: 'revert', owners: [], bump: false },
  rules: [{ match: { tag: 'latest' }, action: 'allow', owners: [], bump: false }],
};
const served = (tag: string, seed: string) => ({ tag, digest: digestOf(seed), mediaType: MEDIA_TYPE });

function setup() {
  const store = new MemoryHistoryStore();
  const deps = { store, policy, log: silentLogger };
  const transitionsOf = async (tag: string) =>
    (await store.history({ ...TARGET, tag })).map((row) => [row.transition, row.digest]);
  return { store, deps, transitionsOf };
}

describe('reconcile (sweep and baseline)', () => {
  it('baseline records every tag history has never seen, and counts what it checked', async () => {
    const { deps, transitionsOf } = setup();
    const progress: number[] = [];
    const report = await reconcile(deps, TARGET, [served('v1', 'a'), served('latest', 'l')], at(0), {
      baseline: true,
      onProgress: (checked) => progress.push(checked),
    });
    expect(report.checked).toBe(2);
    expect(report.recorded.map(({ event }) => event.tag)).toEqual(['v1', 'latest']);
    expect(progress).toEqual([1, 2]);
    expect(await transitionsOf('v1')).toEqual([['first-seen', digestOf('a')]]);
  });

  it('baseline leaves a known tag alone even when the registry now serves another digest', async () => {
    const { deps, store, transitionsOf } = setup();
    await reconcile(deps, TARGET, [served('v1', 'a')], at(0), { baseline: true });

    const report = await reconcile(deps, TARGET, [served('v1', 'b'), served('v2', 'c')], at(10), {
      baseline: true,
    });

    expect(report.checked).toBe(2);
    expect(report.recorded.map(({ event }) => event.tag)).toEqual(['v2']);
    expect(await transitionsOf('v1')).toEqual([['first-seen', digestOf('a')]]);
    expect((await store.tagState({ ...TARGET, tag: 'v1' }))?.digest).toBe(digestOf('a'));
    expect(await store.claimDueEffects(at(20), at(80), 100)).toEqual([]);
  });

  it('sweep records a difference as an overwrite and queues what the policy says', async () => {
    const { deps, store, transitionsOf } = setup();
    await reconcile(deps, TARGET, [served('v1', 'a')], at(0), { baseline: true });

    const report = await reconcile(deps, TARGET, [served('v1', 'b')], at(10));

    expect(report.recorded.map(({ result }) => result.transition.kind)).toEqual(['overwrite']);
    expect(await transitionsOf('v1')).toEqual([
      ['first-seen', digestOf('a')],
      ['overwrite', digestOf('b')],
    ]);
    const due = await store.claimDueEffects(at(20), at(80), 100);
    expect(due.map((effect) => effect.kind)).toContain('revert');
  });

  it('sweep skips tags whose digest matches history, so a difference it recorded is not recorded again', async () => {
    const { deps, transitionsOf } = setup();
    await reconcile(deps, TARGET, [served('v1', 'a'), served('v2', 'c')], at(0), { baseline: true });

    const first = await reconcile(deps, TARGET, [served('v1', 'b'), served('v2', 'c')], at(10));
    const again = await reconcile(deps, TARGET, [served('v1', 'b'), served('v2', 'c')], at(20));

    expect(first.recorded.map(({ event }) => event.tag)).toEqual(['v1']);
    expect(again.recorded).toEqual([]);
    expect(first.recorded[0]?.event.id).toMatch(/^sweep:[0-9a-f]{32}$/);
    expect(await transitionsOf('v1')).toEqual([
      ['first-seen', digestOf('a')],
      ['overwrite', digestOf('b')],
    ]);
    expect(await transitionsOf('v2')).toEqual([['first-seen', digestOf('c')]]);
  });
});
