import type { Policy } from '../../shared/core';
import type { HistoryBrowser, HistoryStore } from '../../shared/history';
import { at, digestOf, pushEvent } from '../support/events';

const quiet: Policy = { defaults: { action: 'allow', owners: [], bump: false }, rules: [] };
const alertAll: Policy = { defaults: { action: 'alert', owners: [], bump: false }, rules: [] };

/** One contract for every HistoryBrowser (the stores `serve` runs on): the paging of `/ui` and `/api`. */
export function describeHistoryBrowser(name: string, open: () => Promise<HistoryStore & HistoryBrowser>) {
  describe(`HistoryBrowser contract: ${name}`, () => {
    let s: HistoryStore & HistoryBrowser;
    beforeEach(async () => {
      s = await open();
    });
    afterEach(async () => {
      await s.close();
    });

    it('pages 250 tags newest first, filters by glob and transition, and pages a timeline', async () => {
      await s.applyAll(
        Array.from({ length: 250 }, (_, i) =>
          pushEvent({ id: `p-${i}`, repository: `team-${i % 2}/svc`, tag: `t${i}`, timestamp: at(i) }),
        ),
        quiet,
        at(0),
      );
      for (let i = 0; i < 30; i++)
        await s.apply(
          pushEvent({ id: `m-${i}`, repository: 'team-0/svc', tag: 't0', digest: digestOf(i) }),
          quiet,
          at(300 + i),
        );
      const first = await s.recentTags({}, 100);
      expect(first.items[0]!.ref.tag).toBe('t0');
      expect(first.items[0]!.last.transition).toBe('overwrite');
      expect(first.items[0]!.digest).toBe(digestOf(29));
      const second = await s.recentTags({}, 100, first.next);
      const third = await s.recentTags({}, 100, second.next);
      const all = [...first.items, ...second.items, ...third.items].map((t) => t.ref.tag);
      expect(new Set(all).size).toBe(250);
      expect(all.slice(0, 3)).toEqual(['t0', 't249', 't248']);
      expect(third.next).toBeNull();
      expect((await s.recentTags({ repository: 'team-1/*' }, 500)).items).toHaveLength(125);
      expect((await s.recentTags({ transition: 'overwrite' }, 500)).items.map((t) => t.ref.tag)).toEqual([
        't0',
      ]);
      const ref = { registryHost: '127.0.0.1:5000', repository: 'team-0/svc', tag: 't0' };
      const page1 = await s.timeline(ref, 20);
      const page2 = await s.timeline(ref, 20, page1.next);
      expect(page1.items).toHaveLength(20);
      expect(page1.items[0]!.eventId).toBe('m-29');
      expect(page2.items.map((e) => e.transition).at(-1)).toBe('first-seen');
      expect(page2.items).toHaveLength(11);
      expect(page2.next).toBeNull();
    });

    it('means by a repository glob what a policy rule means, and filters by registry host', async () => {
      const repositories = ['pay.ments/api', 'payXments/api', 'pay.ments/team/api', 'a+b/c'];
      for (const [i, repository] of repositories.entries())
        await s.apply(pushEvent({ id: `g-${i}`, repository, tag: 'v1' }), quiet, at(i));
      await s.apply(pushEvent({ id: 'other', registryHost: 'other:5000', repository: 'x/y' }), quiet, at(9));
      const repos = async (repository: string) =>
        (await s.recentTags({ repository }, 10)).items.map((t) => t.ref.repository);
      expect(await repos('pay.ments/*')).toEqual(['pay.ments/api']);
      expect(await repos('pay.ments/**')).toEqual(['pay.ments/team/api', 'pay.ments/api']);
      expect(await repos('pay?ments/ap?')).toEqual(['payXments/api', 'pay.ments/api']);
      expect(await repos('a+b/c')).toEqual(['a+b/c']);
      expect(await repos('pay')).toEqual([]);
      const hosts = await s.recentTags({ registryHost: 'other:5000' }, 10);
      expect(hosts.items.map((t) => t.ref.repository)).toEqual(['x/y']);
      expect(hosts.next).toBeNull();
    });

    it('lists effects by status, at most the limit', async () => {
      await s.apply(pushEvent({ id: 'e-0', digest: digestOf('a') }), quiet, at(0));
      for (let i = 1; i <= 3; i++)
        await s.apply(pushEvent({ id: `e-${i}`, digest: digestOf(i), timestamp: at(i) }), alertAll, at(i));
      await s.updateEffect('e-2#alert', { status: 'failed', error: 'slack 400' }, at(10));
      expect((await s.effectsWithStatus('failed', 10)).map((e) => [e.key, e.lastError])).toEqual([
        ['e-2#alert', 'slack 400'],
      ]);
      const pending = await s.effectsWithStatus('pending', 10);
      expect(pending.map((e) => e.key).sort()).toEqual(['e-1#alert', 'e-3#alert']);
      expect(await s.effectsWithStatus('pending', 1)).toHaveLength(1);
    });
  });
}
