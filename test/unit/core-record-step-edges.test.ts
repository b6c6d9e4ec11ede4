import { type Policy, type RegistryEvent, recordStep, ruleFor, type TagState } from '../../shared/core';
import { at, deleteEvent, pushEvent } from '../support/events';

// recordStep at the edges the store tests reach only through a database: a tag never seen, an
// event without a time, and a stale event that moves nothing.
const A = `sha256:${'a'.repeat(64)}`;
const C = `sha256:${'c'.repeat(64)}`;
const lock: Policy = { defaults: { action: 'lock', owners: ['#team'], bump: false }, rules: [] };

function step(prev: TagState | null, event: RegistryEvent, seen = false) {
  return recordStep({ prev, seen, event, rule: ruleFor(lock, event), receivedAt: at(30) });
}

describe('recordStep edges', () => {
  test('the first push of a tag under a lock rule: a lock, the push approved, nothing before it', () => {
    const event = pushEvent({ id: 'evt-first', digest: A, timestamp: at(1) });
    const result = step(null, event);
    if (result.kind !== 'recorded') throw new Error('expected recorded');
    expect(result.result.transition).toEqual({ kind: 'first-seen', digest: A });
    expect(result.result.effects.map((e) => e.key)).toEqual(['evt-first#lock']);
    expect(result.next).toMatchObject({ digest: A, approvedDigest: A, version: 1 });
    expect(result.history).toMatchObject({
      previousDigest: null,
      transition: 'first-seen',
      eventTime: at(1),
    });
  });

  test('a duplicate of a tag never recorded answers no previous digest and the received time', () => {
    const event = pushEvent({ digest: A, timestamp: null });
    expect(step(null, event, true)).toEqual({
      kind: 'duplicate',
      result: { transition: { kind: 'duplicate' }, previousDigest: null, eventTime: at(30), effects: [] },
    });
  });

  test('a stale event is recorded in history but writes no state and plans nothing', () => {
    const prev: TagState = {
      digest: A,
      lastDigest: A,
      eventTime: at(10),
      eventId: 'evt-a',
      pendingRestore: null,
      approvedDigest: A,
      version: 3,
    };
    const result = step(prev, pushEvent({ digest: C, timestamp: at(5) }));
    if (result.kind !== 'recorded') throw new Error('expected recorded');
    expect(result.next).toBeNull();
    expect(result.result.effects).toEqual([]);
    expect(result.history).toMatchObject({ digest: C, previousDigest: A, transition: 'stale' });
  });

  test('a delete is recorded with its action and keeps the approval', () => {
    const prev: TagState = {
      digest: A,
      lastDigest: A,
      eventTime: at(10),
      eventId: 'evt-a',
      pendingRestore: null,
      approvedDigest: A,
      version: 1,
    };
    const result = step(prev, deleteEvent({ timestamp: at(20) }));
    if (result.kind !== 'recorded') throw new Error('expected recorded');
    expect(result.history).toMatchObject({ action: 'delete', digest: null, transition: 'deleted' });
    expect(result.next).toMatchObject({ digest: null, lastDigest: A, approvedDigest: A });
  });
});
