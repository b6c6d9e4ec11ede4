import { historyDocument } from '../../functions/local/replay-input';
import { overviewPage } from '../../functions/local/ui/pages';
import { listQuery } from '../../functions/local/ui/query-params';
import { TRANSITION_KINDS, type Transition, type TransitionKind } from '../../shared/core';

// The core's one runtime list of transition kinds, and every place that lists kinds reading it: a
// kind added to the Transition union and not to the list does not compile; one added to the list is
// offered by the web interface's filter, accepted by its query validation and by replay.

/** true only when the union's kinds and the list's are the same set. */
type KindsAgree = [Transition['kind']] extends [TransitionKind]
  ? [TransitionKind] extends [Transition['kind']]
    ? true
    : false
  : false;

const DIGEST = `sha256:${'a'.repeat(64)}`;

describe('TRANSITION_KINDS', () => {
  it('names every kind of Transition, once', () => {
    const agree: KindsAgree = true;
    expect(agree).toBe(true);
    expect(new Set(TRANSITION_KINDS).size).toBe(TRANSITION_KINDS.length);
    expect(TRANSITION_KINDS).toEqual(expect.arrayContaining(['overwrite', 'restored', 'attempt']));
  });

  it('is offered, every kind of it, by the overview page filter', () => {
    const page = overviewPage(
      { list: { filter: {}, tags: [], next: null }, pending: [], failed: [], drift: null },
      { csrf: 'c' },
    );
    const select = /<select name="transition">([\s\S]*?)<\/select>/.exec(page)?.[1] ?? '';
    const offered = [...select.matchAll(/<option value="([^"]*)"/g)].map((m) => m[1]);
    expect(select).toContain('<option value>any</option>');
    expect(offered).toEqual([...TRANSITION_KINDS]);
  });

  it('marks the filtered kind as selected', () => {
    for (const kind of TRANSITION_KINDS) {
      const page = overviewPage(
        {
          list: { filter: { transition: kind }, tags: [], next: null },
          pending: [],
          failed: [],
          drift: null,
        },
        { csrf: 'c' },
      );
      expect(page).toMatch(new RegExp(`<option value="${kind}" selected`));
    }
  });

  it('is what the list query accepts, and an unknown kind is refused naming them all', () => {
    for (const kind of TRANSITION_KINDS)
      expect(listQuery(new URLSearchParams({ transition: kind }))).toMatchObject({
        filter: { transition: kind },
      });
    expect(listQuery(new URLSearchParams({ transition: 'moved' }))).toEqual({
      problem: `transition must be one of ${TRANSITION_KINDS.join(', ')}`,
    });
  });

  it('is what replay reads in a tagwarden history --json document', () => {
    const rows = TRANSITION_KINDS.map((transition, seq) => ({
      seq: seq + 1,
      eventId: `e-${seq}`,
      action: transition === 'attempt' ? 'attempt' : 'push',
      registryHost: 'registry.example.com',
      repository: 'team/app',
      tag: '1.0',
      digest: DIGEST,
      previousDigest: null,
      transition,
      eventTime: '2026-11-01T00:00:00.000Z',
      receivedAt: '2026-11-01T00:00:01.000Z',
      actor: null,
    }));
    const text = JSON.stringify({ tagRef: 'registry.example.com/team/app:1.0', history: rows, effects: [] });
    expect(historyDocument(text)?.rows.map((r) => r.transition)).toEqual([...TRANSITION_KINDS]);
  });
});
