import { nextTagState, type TagState } from '../../shared/core';
import { at, deleteEvent, pushEvent } from '../support/events';

// Events older than the tag's only recorded push: only a late push of another digest is `overwritten`.
const A = `sha256:${'a'.repeat(64)}`;
const C = `sha256:${'c'.repeat(64)}`;

const firstPush: TagState = {
  digest: A,
  lastDigest: A,
  eventTime: at(10),
  eventId: 'evt-first',
  pendingRestore: null,
  approvedDigest: A,
  version: 1,
};

describe('nextTagState: late events on a tag holding only its first push', () => {
  test('a late delete carrying another digest is stale, not `overwritten`', () => {
    const result = nextTagState(firstPush, deleteEvent({ digest: C, timestamp: at(5) }), at(30));
    expect(result).toEqual({
      transition: { kind: 'stale', digest: C, current: A },
      next: null,
      previousDigest: A,
      eventTime: at(5),
    });
  });

  test('a late push without a digest is stale and moves nothing', () => {
    const result = nextTagState(firstPush, pushEvent({ digest: null, timestamp: at(5) }), at(30));
    expect(result).toEqual({
      transition: { kind: 'stale', digest: null, current: A },
      next: null,
      previousDigest: A,
      eventTime: at(5),
    });
  });

  test('`overwritten` names the digest the tag serves as the one that overwrote the late push', () => {
    const result = nextTagState(firstPush, pushEvent({ digest: C, timestamp: at(5) }), at(30));
    expect(result).toEqual({
      transition: { kind: 'overwritten', digest: C, by: A },
      next: { ...firstPush, approvedDigest: C, version: 2 },
      previousDigest: A,
      eventTime: at(5),
    });
  });
});
