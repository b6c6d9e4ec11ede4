import { decide, type ResolvedRule, type Transition } from '../../shared/core';
import { at, digestOf, pushEvent } from '../support/events';

// A move back to the approved digest needs no revert, but it is still a move: the owners of an
// alert rule hear of it, and an allow rule's clusters follow it.
const APPROVED = digestOf('approved');
const OTHER = digestOf('other');
const event = pushEvent({ id: 'evt-back', digest: APPROVED, timestamp: at(5) });
const backToApproved: Transition = { kind: 'overwrite', from: OTHER, to: APPROVED };

function rule(action: ResolvedRule['action'], bump = false): ResolvedRule {
  return { action, owners: ['#team'], bump, source: 'defaults' };
}

describe('decide: a move back to the approved digest', () => {
  test('an alert rule still alerts', () => {
    const effects = decide(backToApproved, rule('alert'), event, at(5), APPROVED);
    expect(effects.map((e) => e.kind)).toEqual(['alert']);
    expect(effects[0]?.incident).toMatchObject({ from: OTHER, to: APPROVED, restoreTo: APPROVED });
  });

  test('an allow rule with bump still bumps the clusters', () => {
    const effects = decide(backToApproved, rule('allow', true), event, at(5), APPROVED);
    expect(effects).toMatchObject([{ kind: 'bump', reason: 'moved' }]);
  });
});
