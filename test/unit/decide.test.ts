import {
  decide,
  type Effect,
  effectKey,
  type PolicyAction,
  type ResolvedRule,
  type Transition,
  type TransitionKind,
} from '../../shared/core';
import { at, digestOf, pushEvent } from '../support/events';

const OLD = digestOf('old');
const NEW = digestOf('new');
const event = pushEvent({ id: 'evt-decide', digest: NEW, actor: 'mallory', timestamp: at(5) });
const EVENT_TIME = at(5);

const transitions: Record<TransitionKind, Transition> = {
  'first-seen': { kind: 'first-seen', digest: NEW },
  unchanged: { kind: 'unchanged', digest: NEW },
  overwrite: { kind: 'overwrite', from: OLD, to: NEW },
  // A late push of OLD, the tag's first digest, found overwritten by NEW, the only push recorded.
  overwritten: { kind: 'overwritten', digest: OLD, by: NEW },
  stale: { kind: 'stale', digest: NEW, current: OLD },
  duplicate: { kind: 'duplicate' },
  deleted: { kind: 'deleted', digest: OLD },
  restored: { kind: 'restored', digest: OLD, replaced: NEW },
  // A refused push at a locked tag, the first by its actor in the window: alerted whatever the rule.
  attempt: { kind: 'attempt', serving: OLD, attempted: NEW, count: 1, grouped: false, closed: null },
  // The manifest OLD, which the tag served and a revert would restore, deleted by digest.
  'digest-deleted': { kind: 'digest-deleted', digest: OLD, serving: OLD, approved: OLD },
};

function rule(action: PolicyAction, bump = false): ResolvedRule {
  return { action, owners: ['#payments', '@bob'], bump, source: 'rules[2]' };
}

/** Effect kinds with what distinguishes effects of one kind: the bump reason and what an alert reports. */
function describeEffects(effects: Effect[]): string[] {
  return effects.map((e) => {
    if (e.kind === 'bump') return `bump:${e.reason}`;
    if (e.kind === 'alert') return `alert:after=${e.after}`;
    return e.kind;
  });
}

// The policy table of DESIGN.md: action × transition → effects, in the order they run.
const table: Array<[PolicyAction, boolean, TransitionKind, string[]]> = [
  ['allow', false, 'first-seen', []],
  ['allow', false, 'unchanged', []],
  ['allow', false, 'overwrite', []],
  ['allow', false, 'overwritten', []],
  ['allow', false, 'stale', []],
  ['allow', false, 'duplicate', []],
  ['allow', false, 'deleted', []],
  ['allow', false, 'restored', []],
  ['allow', false, 'attempt', ['alert:after=null']],
  ['allow', false, 'digest-deleted', []],
  ['alert', false, 'first-seen', []],
  ['alert', false, 'unchanged', []],
  ['alert', false, 'overwrite', ['alert:after=null']],
  ['alert', false, 'overwritten', ['alert:after=null']],
  ['alert', false, 'stale', []],
  ['alert', false, 'duplicate', []],
  ['alert', false, 'deleted', []],
  ['alert', false, 'restored', []],
  ['alert', false, 'attempt', ['alert:after=null']],
  ['alert', false, 'digest-deleted', ['alert:after=null']],
  ['lock', false, 'first-seen', ['lock']],
  ['lock', false, 'unchanged', []],
  ['lock', false, 'overwrite', ['revert', 'lock', 'alert:after=revert']],
  ['lock', false, 'overwritten', ['revert', 'lock', 'alert:after=revert']],
  ['lock', false, 'stale', []],
  ['lock', false, 'duplicate', []],
  ['lock', false, 'deleted', []],
  ['lock', false, 'restored', []],
  ['lock', false, 'attempt', ['alert:after=null']],
  ['lock', false, 'digest-deleted', ['alert:after=null']],
  ['revert', false, 'first-seen', []],
  ['revert', false, 'unchanged', []],
  ['revert', false, 'overwrite', ['revert', 'alert:after=revert']],
  ['revert', false, 'overwritten', ['revert', 'alert:after=revert']],
  ['revert', false, 'stale', []],
  ['revert', false, 'duplicate', []],
  ['revert', false, 'deleted', []],
  ['revert', false, 'restored', []],
  ['revert', false, 'attempt', ['alert:after=null']],
  ['revert', false, 'digest-deleted', ['alert:after=null']],
  // bump: true adds a cluster bump to an allowed move and to the echo of a revert, nothing else.
  ['allow', true, 'first-seen', []],
  ['allow', true, 'unchanged', []],
  ['allow', true, 'overwrite', ['bump:moved']],
  ['allow', true, 'overwritten', ['bump:moved']],
  ['allow', true, 'stale', []],
  ['allow', true, 'duplicate', []],
  ['allow', true, 'deleted', []],
  ['allow', true, 'restored', ['bump:reverted']],
  ['alert', true, 'overwrite', ['alert:after=null']],
  ['alert', true, 'restored', ['bump:reverted']],
  ['lock', true, 'first-seen', ['lock']],
  ['lock', true, 'overwrite', ['revert', 'lock', 'alert:after=revert']],
  ['lock', true, 'restored', ['bump:reverted']],
  ['revert', true, 'overwrite', ['revert', 'alert:after=revert']],
  ['revert', true, 'restored', ['bump:reverted']],
  ['revert', true, 'stale', []],
  ['allow', true, 'attempt', ['alert:after=null']],
];

describe('decide', () => {
  test.each(table)('a %s rule (bump %s) on a %s transition gives %j', (action, bump, kind, expected) => {
    const effects = decide(transitions[kind], rule(action, bump), event, EVENT_TIME);
    expect(describeEffects(effects)).toEqual(expected);
  });

  test('the table covers every action and every transition kind without bump', () => {
    const covered = new Set(table.filter(([, bump]) => !bump).map(([a, , k]) => `${a}/${k}`));
    expect(covered.size).toBe(4 * Object.keys(transitions).length);
  });

  test.each(['revert', 'lock', 'alert'] as const)(
    'every effect of a %s overwrite carries from, to, owners, rule source, actor and event',
    (action) => {
      const effects = decide(transitions.overwrite, rule(action), event, EVENT_TIME);
      expect(effects.length).toBeGreaterThan(0);
      for (const effect of effects) {
        expect(effect.incident).toEqual({
          eventId: 'evt-decide',
          ref: { registryHost: event.registryHost, repository: event.repository, tag: event.tag },
          from: OLD,
          to: NEW,
          restoreTo: OLD,
          actor: 'mallory',
          eventTime: EVENT_TIME,
          ruleAction: action,
          ruleSource: 'rules[2]',
          owners: ['#payments', '@bob'],
        });
      }
    },
  );

  test.each(['revert', 'lock', 'alert'] as const)(
    'a %s rule treats a push found overwritten as an overwrite from it to the recorded push, naming no actor',
    (action) => {
      const effects = decide(transitions.overwritten, rule(action), event, EVENT_TIME, NEW);
      expect(effects.length).toBeGreaterThan(0);
      for (const effect of effects)
        expect(effect.incident).toMatchObject({ from: OLD, to: NEW, restoreTo: OLD, actor: null });
    },
  );

  test('a revert restores the approved digest, not an unapproved previous one', () => {
    const approved = digestOf('approved');
    const [revert] = decide(transitions.overwrite, rule('revert'), event, EVENT_TIME, approved);
    expect(revert).toMatchObject({ kind: 'revert', incident: { from: OLD, to: NEW, restoreTo: approved } });
  });

  test.each(['revert', 'lock'] as const)(
    'a %s rule does nothing when an overwrite moves the tag back to its approved digest',
    (action) => {
      expect(decide(transitions.overwrite, rule(action), event, EVENT_TIME, NEW)).toEqual([]);
    },
  );

  test('a lock on first push names no previous digest and the pushed digest as the one to lock', () => {
    const [lock] = decide(transitions['first-seen'], rule('lock'), event, EVENT_TIME);
    expect(lock?.incident.from).toBeNull();
    expect(lock?.incident.to).toBe(NEW);
  });

  test('the bump of an allowed move goes from the old digest to the new one', () => {
    const [bump] = decide(transitions.overwrite, rule('allow', true), event, EVENT_TIME);
    expect(bump).toMatchObject({ kind: 'bump', reason: 'moved', incident: { from: OLD, to: NEW } });
  });

  test('the bump of a restored tag goes from the replaced digest back to the restored one', () => {
    const [bump] = decide(transitions.restored, rule('revert', true), event, EVENT_TIME);
    expect(bump).toMatchObject({ kind: 'bump', reason: 'reverted', incident: { from: NEW, to: OLD } });
  });

  test('the incident carries the event time it was given, not the event timestamp', () => {
    const [alert] = decide(transitions.overwrite, rule('alert'), event, at(99));
    expect(alert?.incident.eventTime).toBe(at(99));
  });

  test('a null actor is carried as null', () => {
    const anonymous = { ...event, actor: null };
    const [alert] = decide(transitions.overwrite, rule('alert'), anonymous, EVENT_TIME);
    expect(alert?.incident.actor).toBeNull();
  });

  test('the effects of one event have distinct idempotency keys of the form eventId#kind', () => {
    const effects = decide(transitions.overwrite, rule('lock'), event, EVENT_TIME);
    const keys = effects.map((e) => effectKey(e.incident.eventId, e.kind));
    expect(keys).toEqual(['evt-decide#revert', 'evt-decide#lock', 'evt-decide#alert']);
    expect(new Set(keys).size).toBe(keys.length);
  });
});
