import { TransientError } from '../core';
import { applyInOrder } from './apply-all';
import { backOffAfterConflict } from './conflict-retry';

describe('backOffAfterConflict', () => {
  it('gives up with a TransientError naming what once the conflicts reach the limit', async () => {
    const failure = backOffAfterConflict(3, 3, () => 'gave up on x after 3 conflicting writes');
    await expect(failure).rejects.toBeInstanceOf(TransientError);
    await expect(backOffAfterConflict(4, 3, () => 'past it')).rejects.toThrow('past it');
  });

  it('waits and returns while under the limit', async () => {
    await expect(backOffAfterConflict(2, 3, () => 'not this')).resolves.toBeUndefined();
  });
});

describe('applyInOrder', () => {
  it('applies each event after the previous one has finished, and returns results in order', async () => {
    const log: string[] = [];
    const events = ['a', 'b', 'c'].map((id) => ({ id }) as never);
    const results = await applyInOrder(
      async (event: { id: string }, _policy, receivedAt) => {
        log.push(`start ${event.id}`);
        await new Promise((resolve) => setImmediate(resolve));
        log.push(`end ${event.id}`);
        return { id: event.id, receivedAt } as never;
      },
      events,
      { defaults: { action: 'alert', owners: [], bump: false }, rules: [] },
      'now',
    );
    expect(log).toEqual(['start a', 'end a', 'start b', 'end b', 'start c', 'end c']);
    expect(results).toEqual(['a', 'b', 'c'].map((id) => ({ id, receivedAt: 'now' })));
  });
});
