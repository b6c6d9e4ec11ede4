import {
  type Alert,
  alertTitle,
  clusterBumpEventId,
  compareEventTimes,
  DEFAULT_POLICY,
  errorMessage,
  globMatches,
  normalizeTimestamp,
  PermanentError,
  POLICY_ACTIONS,
  type ResolvedRule,
  resolveEffect,
  ruleFor,
  sameTagRef,
  TransientError,
} from '../../shared/core';
import { at, pushEvent } from '../support/events';

// The small exported parts of the core that the outbox, notifiers, config and runtimes rely on.
describe('errors', () => {
  test('a transient error says so by name and carries the delay asked for, or none', () => {
    const plain = new TransientError('timed out');
    expect(plain).toBeInstanceOf(Error);
    expect([plain.name, plain.message, plain.retryAfterMs]).toEqual(['TransientError', 'timed out', null]);
    expect(new TransientError('slow down', 3000).retryAfterMs).toBe(3000);
  });

  test('a permanent error says so by name', () => {
    const error = new PermanentError('manifest unknown');
    expect([error.name, error.message]).toEqual(['PermanentError', 'manifest unknown']);
  });

  test('errorMessage reads an error message, and shows anything else as text', () => {
    expect(errorMessage(new PermanentError('no such tag'))).toBe('no such tag');
    expect(errorMessage('plain text')).toBe('plain text');
    expect(errorMessage(42)).toBe('42');
    expect(errorMessage({ message: 'not an error' })).toBe('[object Object]');
  });
});

describe('alertTitle', () => {
  const incident = resolveEffect(
    pushEvent(),
    { action: 'alert', owners: [], bump: false, source: 'x' },
    at(1),
  ).incident;
  const alert: Alert = { incident, actionTaken: 'alerted only', severity: 'warning', notes: [] };

  test('an alert without a title is about an overwritten tag', () => {
    expect(alertTitle(alert)).toBe('Tag overwritten');
  });

  test('an alert with a title keeps it', () => {
    expect(alertTitle({ ...alert, title: 'Tag locked' })).toBe('Tag locked');
  });
});

describe('sameTagRef', () => {
  const ref = { registryHost: 'r.example', repository: 'team/api', tag: 'v1' };

  test('is true only when host, repository and tag all match', () => {
    expect(sameTagRef(ref, { ...ref })).toBe(true);
    expect(sameTagRef(ref, { ...ref, registryHost: 'other.example' })).toBe(false);
    expect(sameTagRef(ref, { ...ref, repository: 'team/web' })).toBe(false);
    expect(sameTagRef(ref, { ...ref, tag: 'v2' })).toBe(false);
  });
});

describe('resolveEffect and clusterBumpEventId', () => {
  const rule: ResolvedRule = { action: 'revert', owners: ['#team'], bump: true, source: 'rules[1]' };

  test('a push without a digest becomes a resolve effect carrying the event and who pushed it', () => {
    const event = pushEvent({ id: 'evt-hub', digest: null, actor: 'carol', timestamp: at(5) });
    expect(resolveEffect(event, rule, at(9))).toEqual({
      kind: 'resolve',
      event,
      incident: {
        eventId: 'evt-hub',
        ref: { registryHost: event.registryHost, repository: event.repository, tag: event.tag },
        from: null,
        to: null,
        restoreTo: null,
        actor: 'carol',
        eventTime: at(5),
        ruleAction: 'revert',
        ruleSource: 'rules[1]',
        owners: ['#team'],
      },
    });
  });

  test('a resolve effect of an event without a time counts at the time it was received', () => {
    const event = pushEvent({ digest: null, timestamp: null });
    expect(resolveEffect(event, rule, at(9)).incident.eventTime).toBe(at(9));
  });

  test('the bump of one cluster endpoint has its own event id', () => {
    expect(clusterBumpEventId('evt-7', 'prod-eu')).toBe('evt-7:cluster=prod-eu');
  });
});

describe('policy constants', () => {
  test('the four policy actions, in the order the design lists them', () => {
    expect(POLICY_ACTIONS).toEqual(['allow', 'alert', 'lock', 'revert']);
  });

  test('the default policy alerts nobody in particular and bumps nothing', () => {
    const ref = { registryHost: 'r.example', repository: 'team/api', tag: 'latest' };
    expect(ruleFor(DEFAULT_POLICY, ref)).toEqual({
      action: 'allow',
      owners: [],
      bump: false,
      source: 'rules[0]',
    });
    expect(ruleFor(DEFAULT_POLICY, { ...ref, tag: 'v1' })).toEqual({
      action: 'alert',
      owners: [],
      bump: false,
      source: 'defaults',
    });
  });

  test('`**` between segments spans them but still needs the segments around it', () => {
    expect(globMatches('payments/**/api', 'payments/team/api')).toBe(true);
    expect(globMatches('payments/**/api', 'payments/a/b/api')).toBe(true);
    expect(globMatches('payments/**/api', 'payments/xapi')).toBe(false);
  });
});

describe('event times', () => {
  test('an unreadable second time is refused as firmly as an unreadable first one', () => {
    expect(() => compareEventTimes('2026-11-22T10:00:00Z', 'soon')).toThrow(
      'cannot compare event times 2026-11-22T10:00:00Z and soon',
    );
  });

  test.each([
    ['leading text', 'at 2026-11-22T10:00:00Z'],
    ['trailing text', '2026-11-22T10:00:00Z and later'],
    ['a trailing newline', '2026-11-22T10:00:00Z\n'],
  ])('a time with %s is not a time', (_what, text) => {
    expect(normalizeTimestamp(text)).toBeNull();
  });
});
