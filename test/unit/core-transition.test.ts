import {
  approvalAfter,
  assertNever,
  nextTagState,
  type PendingRestore,
  type TagState,
  type Transition,
} from '../../shared/core';
import { at, deleteEvent, pushEvent } from '../support/events';

// Digests that differ only in their last hex character: an overwrite must still be seen.
const A = `sha256:${'a'.repeat(64)}`;
const A_NEAR = `sha256:${'a'.repeat(63)}b`;
const C = `sha256:${'c'.repeat(64)}`;

function state(overrides: Partial<TagState> = {}): TagState {
  return {
    digest: A,
    lastDigest: A,
    eventTime: at(10),
    eventId: 'evt-prev',
    pendingRestore: null,
    approvedDigest: A,
    version: 1,
    ...overrides,
  };
}

describe('nextTagState: near-miss digests', () => {
  test('a push whose digest differs only in the last hex character is an overwrite', () => {
    const result = nextTagState(state(), pushEvent({ digest: A_NEAR, timestamp: at(20) }), at(30));
    expect(result.transition).toEqual({ kind: 'overwrite', from: A, to: A_NEAR });
    expect(result.next?.digest).toBe(A_NEAR);
  });

  test('a late push differing only in the last hex character is `overwritten`, not stale', () => {
    const result = nextTagState(state(), pushEvent({ digest: A_NEAR, timestamp: at(5) }), at(30));
    expect(result.transition).toEqual({ kind: 'overwritten', digest: A_NEAR, by: A });
  });

  test('a delete of a near-miss digest says nothing about the tag now', () => {
    const result = nextTagState(state(), deleteEvent({ digest: A_NEAR, timestamp: at(20) }), at(30));
    expect(result.transition).toEqual({ kind: 'stale', digest: A_NEAR, current: A });
    expect(result.next).toBeNull();
  });

  test('a restore echo with a near-miss digest is an overwrite, not `restored`', () => {
    const pendingRestore: PendingRestore = { digest: A, from: C, until: at(100) };
    const prev = state({ digest: C, lastDigest: C, pendingRestore, version: 2 });
    const result = nextTagState(prev, pushEvent({ digest: A_NEAR, timestamp: at(20) }), at(30));
    expect(result.transition).toEqual({ kind: 'overwrite', from: C, to: A_NEAR });
    expect(result.next?.pendingRestore).toEqual(pendingRestore);
  });
});

describe('nextTagState: ordering', () => {
  test('an event at the same time as the newest applied one counts as newer', () => {
    const result = nextTagState(state(), pushEvent({ digest: C, timestamp: at(10) }), at(30));
    expect(result.transition).toEqual({ kind: 'overwrite', from: A, to: C });
  });

  test('a late push of the same digest is stale and changes nothing', () => {
    const result = nextTagState(state(), pushEvent({ digest: A, timestamp: at(5) }), at(30));
    expect(result.transition).toEqual({ kind: 'stale', digest: A, current: A });
    expect(result.next).toBeNull();
    expect(result.previousDigest).toBe(A);
    expect(result.eventTime).toBe(at(5));
  });

  test('a late push is only `overwritten` while the tag holds its first push alone', () => {
    const late = pushEvent({ digest: C, timestamp: at(5) });
    expect(nextTagState(state({ version: 2 }), late, at(30)).transition.kind).toBe('stale');
    const restoring = state({ pendingRestore: { digest: C, from: A, until: at(100) } });
    expect(nextTagState(restoring, late, at(30)).transition.kind).toBe('stale');
    const deleted = state({ digest: null });
    expect(nextTagState(deleted, late, at(30)).transition).toEqual({
      kind: 'stale',
      digest: C,
      current: null,
    });
    expect(nextTagState(state(), deleteEvent({ timestamp: at(5) }), at(30)).transition.kind).toBe('stale');
  });

  test('`overwritten` keeps the tag on the newer push and approves the late digest until effects settle', () => {
    const result = nextTagState(state(), pushEvent({ digest: C, timestamp: at(5) }), at(30));
    expect(result.next).toEqual({ ...state(), approvedDigest: C, version: 2 });
    expect(result.eventTime).toBe(at(5));
  });

  test('an event without a timestamp counts at the time it was received', () => {
    const result = nextTagState(state(), pushEvent({ digest: C, timestamp: null }), at(30));
    expect(result.eventTime).toBe(at(30));
    expect(result.next?.eventTime).toBe(at(30));
    const late = nextTagState(state(), pushEvent({ digest: C, timestamp: null }), at(5));
    expect(late.transition.kind).toBe('overwritten');
  });
});

describe('nextTagState: pushes', () => {
  test('a first push is first-seen, approved, at version 1', () => {
    const event = pushEvent({ id: 'evt-first', digest: A, timestamp: at(1) });
    const result = nextTagState(null, event, at(2));
    expect(result).toEqual({
      transition: { kind: 'first-seen', digest: A },
      next: {
        digest: A,
        lastDigest: A,
        eventTime: at(1),
        eventId: 'evt-first',
        pendingRestore: null,
        approvedDigest: A,
        version: 1,
      },
      previousDigest: null,
      eventTime: at(1),
    });
  });

  test('the same digest again is unchanged, keeps the approval and bumps the version', () => {
    const prev = state({ approvedDigest: C, version: 4 });
    const event = pushEvent({ id: 'evt-again', digest: A, timestamp: at(20) });
    const result = nextTagState(prev, event, at(30));
    expect(result.transition).toEqual({ kind: 'unchanged', digest: A });
    expect(result.next).toEqual({ ...prev, eventTime: at(20), eventId: 'evt-again', version: 5 });
  });

  test('an overwrite keeps the approved digest until effects settle it', () => {
    const result = nextTagState(state({ version: 3 }), pushEvent({ digest: C, timestamp: at(20) }), at(30));
    expect(result.next).toMatchObject({ digest: C, lastDigest: C, approvedDigest: A, version: 4 });
    expect(result.previousDigest).toBe(A);
  });

  test('a push after a delete overwrites what the tag served before the delete', () => {
    const prev = state({ digest: null, lastDigest: A, version: 2 });
    const result = nextTagState(prev, pushEvent({ digest: C, timestamp: at(20) }), at(30));
    expect(result.transition).toEqual({ kind: 'overwrite', from: A, to: C });
    expect(result.previousDigest).toBe(A);
  });

  test('a push without a digest is refused: it must be resolved first', () => {
    expect(() =>
      nextTagState(state(), pushEvent({ id: 'evt-nodigest', digest: null, timestamp: at(20) }), at(30)),
    ).toThrow('push event evt-nodigest has no digest; resolve it before recording');
  });
});

describe('nextTagState: restores', () => {
  const pendingRestore: PendingRestore = { digest: A, from: C, until: at(60) };
  const prev = state({ digest: C, lastDigest: C, pendingRestore, approvedDigest: A, version: 2 });

  test('the echo of a restore, received at its deadline, is `restored` and clears it', () => {
    const result = nextTagState(prev, pushEvent({ digest: A, timestamp: at(20) }), at(60));
    expect(result.transition).toEqual({ kind: 'restored', digest: A, replaced: C });
    expect(result.next).toMatchObject({
      digest: A,
      lastDigest: A,
      pendingRestore: null,
      approvedDigest: A,
      version: 3,
    });
  });

  test('after its deadline the restore is forgotten: the push is an ordinary overwrite', () => {
    const result = nextTagState(prev, pushEvent({ digest: A, timestamp: at(20) }), at(61));
    expect(result.transition).toEqual({ kind: 'overwrite', from: C, to: A });
    expect(result.next?.pendingRestore).toBeNull();
  });

  test('a restore echoed after a delete replaces nothing', () => {
    const deleted = { ...prev, digest: null };
    const result = nextTagState(deleted, pushEvent({ digest: A, timestamp: at(20) }), at(30));
    expect(result.transition).toEqual({ kind: 'restored', digest: A, replaced: null });
  });
});

describe('nextTagState: deletes', () => {
  test('a delete keeps the last digest, the approval and a pending restore', () => {
    const pendingRestore: PendingRestore = { digest: C, from: A, until: at(100) };
    const prev = state({ approvedDigest: C, pendingRestore, version: 3 });
    const event = deleteEvent({ id: 'evt-del', timestamp: at(20) });
    const result = nextTagState(prev, event, at(30));
    expect(result.transition).toEqual({ kind: 'deleted', digest: A });
    expect(result.next).toEqual({
      digest: null,
      lastDigest: A,
      eventTime: at(20),
      eventId: 'evt-del',
      pendingRestore,
      approvedDigest: C,
      version: 4,
    });
  });

  test('a delete of the digest the tag serves is a delete', () => {
    const result = nextTagState(state(), deleteEvent({ digest: A, timestamp: at(20) }), at(30));
    expect(result.transition).toEqual({ kind: 'deleted', digest: A });
  });

  test('a delete of an unknown tag records the deleted digest as its last', () => {
    const result = nextTagState(null, deleteEvent({ digest: C, timestamp: at(20) }), at(30));
    expect(result.transition).toEqual({ kind: 'deleted', digest: C });
    expect(result.next).toMatchObject({
      digest: null,
      lastDigest: C,
      pendingRestore: null,
      approvedDigest: null,
      version: 1,
    });
  });

  test('a delete of a deleted tag keeps what it served last', () => {
    const prev = state({ digest: null, lastDigest: A, version: 2 });
    const result = nextTagState(prev, deleteEvent({ digest: C, timestamp: at(20) }), at(30));
    expect(result.transition).toEqual({ kind: 'deleted', digest: C });
    expect(result.next?.lastDigest).toBe(A);
  });
});

describe('approvalAfter', () => {
  const next = state({ digest: C, lastDigest: C, approvedDigest: A, version: 2 });
  const overwrite: Transition = { kind: 'overwrite', from: A, to: C };

  test('an overwrite that is not reverted is approved', () => {
    expect(approvalAfter(next, overwrite, ['alert'])).toEqual({ ...next, approvedDigest: C });
    expect(approvalAfter(next, overwrite, [])).toEqual({ ...next, approvedDigest: C });
  });

  test('an overwrite being reverted is not approved', () => {
    expect(approvalAfter(next, overwrite, ['revert', 'alert'])).toEqual(next);
  });

  test('a late push found overwritten approves the push that overwrote it, unless reverted', () => {
    const overwritten: Transition = { kind: 'overwritten', digest: C, by: A };
    const late = state({ approvedDigest: C, version: 2 });
    expect(approvalAfter(late, overwritten, ['alert'])).toEqual({ ...late, approvedDigest: A });
    expect(approvalAfter(late, overwritten, ['revert'])).toEqual(late);
  });

  test('other transitions leave the approval as it is', () => {
    expect(approvalAfter(next, { kind: 'unchanged', digest: C }, [])).toBe(next);
    expect(approvalAfter(next, { kind: 'first-seen', digest: C }, ['lock'])).toBe(next);
  });
});

test('assertNever names the value it did not expect', () => {
  expect(() => assertNever({ kind: 'mystery' } as never)).toThrow('unexpected value {"kind":"mystery"}');
});
