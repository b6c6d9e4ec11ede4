import type { Policy } from './policy';
import { ruleFor } from './policy';
import { recordStep } from './record-step';
import type { TagState } from './transition';

const A = `sha256:${'a'.repeat(64)}`;
const B = `sha256:${'b'.repeat(64)}`;
const revert: Policy = {
  defaults: { action: 'revert', owners: ['#team'], bump: false },
  rules: [],
};
const alert: Policy = { ...revert, defaults: { ...revert.defaults, action: 'alert' } };
const serving: TagState = {
  digest: A,
  lastDigest: A,
  eventTime: '2026-11-22T10:00:00.000Z',
  eventId: 'e0',
  pendingRestore: null,
  approvedDigest: A,
  version: 1,
};
const push = {
  id: 'e1',
  action: 'push' as const,
  registryHost: 'r.example',
  repository: 'team/api',
  tag: 'v1',
  digest: B,
  mediaType: null,
  timestamp: '2026-11-22T10:00:05.000Z',
  actor: 'bob',
};
const at = '2026-11-22T10:00:06.000Z';

describe('recordStep', () => {
  it('records an overwrite under a revert rule: keyed effects in order, approval kept, one history row', () => {
    const step = recordStep({
      prev: serving,
      seen: false,
      event: push,
      rule: ruleFor(revert, push),
      receivedAt: at,
    });
    if (step.kind !== 'recorded') throw new Error('expected recorded');
    expect(step.result.transition).toEqual({ kind: 'overwrite', from: A, to: B });
    expect(step.result.effects.map((e) => [e.key, e.position, e.status, e.nextAttemptAt])).toEqual([
      ['e1#revert', 0, 'pending', at],
      ['e1#alert', 1, 'pending', at],
    ]);
    expect(step.next).toMatchObject({ digest: B, approvedDigest: A, eventId: 'e1' });
    expect(step.history).toEqual({
      eventId: 'e1',
      action: 'push',
      registryHost: 'r.example',
      repository: 'team/api',
      tag: 'v1',
      digest: B,
      previousDigest: A,
      transition: 'overwrite',
      eventTime: push.timestamp,
      receivedAt: at,
      actor: 'bob',
    });
  });

  it('approves an overwrite the rule does not revert', () => {
    const step = recordStep({
      prev: serving,
      seen: false,
      event: push,
      rule: ruleFor(alert, push),
      receivedAt: at,
    });
    if (step.kind !== 'recorded') throw new Error('expected recorded');
    expect(step.result.effects.map((e) => e.kind)).toEqual(['alert']);
    expect(step.next?.approvedDigest).toBe(B);
  });

  it('answers a seen id as a duplicate: nothing to write, no effects', () => {
    const step = recordStep({
      prev: serving,
      seen: true,
      event: push,
      rule: ruleFor(revert, push),
      receivedAt: at,
    });
    expect(step).toEqual({
      kind: 'duplicate',
      result: {
        transition: { kind: 'duplicate' },
        previousDigest: A,
        eventTime: push.timestamp,
        effects: [],
      },
    });
  });
});
