import {
  compareEventTimes,
  digestProblem,
  eventProblems,
  formatTagRef,
  fromUnixSeconds,
  hostProblem,
  normalizeTimestamp,
  parseTagRef,
  type RegistryEvent,
  repositoryProblem,
  tagProblem,
} from '../../shared/core';
import { pushEvent } from '../support/events';

const HEX64 = 'a'.repeat(64);

describe('calendar dates', () => {
  test.each(['2026-02-30T10:00:00Z', '2026-04-31T00:00:00Z', '2025-02-29T00:00:00Z', '2026-13-01T00:00:00Z'])(
    'rejects %s, a day that does not exist',
    (text) => {
      expect(normalizeTimestamp(text)).toBeNull();
    },
  );
  test('accepts 29 February in a leap year', () => {
    expect(normalizeTimestamp('2028-02-29T00:00:00Z')).toBe('2028-02-29T00:00:00.000Z');
  });
});

describe('normalizeTimestamp', () => {
  test.each([
    ['2026-11-22T10:00:00Z', '2026-11-22T10:00:00.000Z'],
    ['2026-11-22T10:00:00z', '2026-11-22T10:00:00.000Z'],
    ['2026-11-22 10:00:00Z', '2026-11-22T10:00:00.000Z'],
    ['2026-11-22T02:00:00-08:00', '2026-11-22T10:00:00.000Z'],
    ['2026-11-22T02:00:00-0800', '2026-11-22T10:00:00.000Z'],
    ['2026-11-22T11:30:00+01:30', '2026-11-22T10:00:00.000Z'],
    ['2026-11-22T23:30:00-08:00', '2026-11-23T07:30:00.000Z'],
    ['2026-11-22T10:00:00.5Z', '2026-11-22T10:00:00.500Z'],
    ['2026-11-22T10:00:00.123Z', '2026-11-22T10:00:00.123Z'],
    ['2026-11-22T10:00:00.1234Z', '2026-11-22T10:00:00.1234Z'],
    ['2026-11-22T10:00:00.123456789Z', '2026-11-22T10:00:00.123456789Z'],
    ['2026-11-22T10:00:00.000000001Z', '2026-11-22T10:00:00.000000001Z'],
    ['2026-11-22T10:00:00.123000100Z', '2026-11-22T10:00:00.1230001Z'],
    ['2026-11-22T10:00:00.123456000Z', '2026-11-22T10:00:00.123456Z'],
    ['2026-11-22T02:00:00.987654321-08:00', '2026-11-22T10:00:00.987654321Z'],
  ])('normalizes %s to %s', (input, expected) => {
    expect(normalizeTimestamp(input)).toBe(expected);
  });

  test.each([
    ['no zone', '2026-11-22T10:00:00'],
    ['a date only', '2026-11-22'],
    ['ten fraction digits', '2026-11-22T10:00:00.1234567890Z'],
    ['an empty fraction', '2026-11-22T10:00:00.Z'],
    ['a month 13', '2026-13-22T10:00:00Z'],
    ['free text', 'yesterday'],
    ['an empty string', ''],
  ])('rejects %s', (_what, input) => {
    expect(normalizeTimestamp(input)).toBeNull();
  });
});

describe('compareEventTimes', () => {
  test('orders times that differ by one nanosecond', () => {
    const a = '2026-11-22T10:00:00.000000001Z';
    const b = '2026-11-22T10:00:00.000000002Z';
    expect(compareEventTimes(a, b)).toBeLessThan(0);
    expect(compareEventTimes(b, a)).toBeGreaterThan(0);
  });

  test('orders times in the same millisecond by their sub-millisecond digits', () => {
    expect(compareEventTimes('2026-11-22T10:00:00.123456Z', '2026-11-22T10:00:00.1234561Z')).toBeLessThan(0);
    expect(compareEventTimes('2026-11-22T10:00:00.1239Z', '2026-11-22T10:00:00.123Z')).toBeGreaterThan(0);
  });

  test('the millisecond decides before the sub-millisecond digits', () => {
    expect(compareEventTimes('2026-11-22T10:00:00.123999999Z', '2026-11-22T10:00:00.124Z')).toBeLessThan(0);
  });

  test('equal instants written differently compare equal', () => {
    expect(compareEventTimes('2026-11-22T02:00:00-08:00', '2026-11-22T10:00:00.000Z')).toBe(0);
    expect(compareEventTimes('2026-11-22T10:00:00.5Z', '2026-11-22T10:00:00.500000000Z')).toBe(0);
  });

  test('an offset is applied before comparing, not the wall clock', () => {
    // 09:00 in New York is 14:00 UTC: later than 10:00 UTC although its wall clock says earlier.
    expect(compareEventTimes('2026-11-22T09:00:00-05:00', '2026-11-22T10:00:00Z')).toBeGreaterThan(0);
  });

  test('throws on a time it cannot parse rather than guessing an order', () => {
    expect(() => compareEventTimes('not a time', '2026-11-22T10:00:00Z')).toThrow(/cannot compare/);
  });
});

describe('fromUnixSeconds', () => {
  test.each([
    [0, '1970-01-01T00:00:00.000Z'],
    [1.5, '1970-01-01T00:00:01.500Z'],
    [1795341600, '2026-11-22T10:00:00.000Z'],
    [32503680000, '3000-01-01T00:00:00.000Z'],
  ])('converts %p seconds to %s', (seconds, expected) => {
    expect(fromUnixSeconds(seconds)).toBe(expected);
  });

  test.each([-1, 32503680001, Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY])(
    'rejects %p seconds',
    (seconds) => {
      expect(fromUnixSeconds(seconds)).toBeNull();
    },
  );
});

function problemsWith(overrides: Partial<RegistryEvent>): string[] {
  return eventProblems(pushEvent({ id: 'evt-1', ...overrides }));
}

describe('eventProblems', () => {
  test('a well-formed event has no problems', () => {
    expect(problemsWith({})).toEqual([]);
  });

  test.each([
    ['sha256 with 64 lowercase hex', `sha256:${HEX64}`],
    ['sha512 with 128 lowercase hex', `sha512:${'0'.repeat(128)}`],
  ])('accepts a digest: %s', (_what, digest) => {
    expect(digestProblem(digest)).toBeNull();
    expect(problemsWith({ digest })).toEqual([]);
  });

  test.each([
    ['sha256 with 60 hex', `sha256:${'a'.repeat(60)}`],
    ['sha256 with 65 hex', `sha256:${'a'.repeat(65)}`],
    ['uppercase hex', `sha256:${'A'.repeat(64)}`],
    ['sha1', `sha1:${'a'.repeat(40)}`],
    ['sha512 with 64 hex', `sha512:${HEX64}`],
    ['no algorithm', HEX64],
    ['non-hex letters', `sha256:${'g'.repeat(64)}`],
    ['a trailing newline', `sha256:${HEX64}\n`],
  ])('rejects a digest: %s', (_what, digest) => {
    const problems = problemsWith({ digest });
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/^digest .* is not a valid digest/);
  });

  test('a null digest (a tag delete) is not a problem', () => {
    expect(problemsWith({ action: 'delete', digest: null })).toEqual([]);
  });

  test.each([
    ['128 characters', `v${'1'.repeat(127)}`],
    ['a leading underscore', '_build'],
    ['dots, dashes and underscores inside', 'v1.2.3-rc_1'],
    ['one character', 'x'],
  ])('accepts a tag: %s', (_what, tag) => {
    expect(tagProblem(tag)).toBeNull();
  });

  test.each([
    ['129 characters', `v${'1'.repeat(128)}`],
    ['a leading dot', '.hidden'],
    ['a leading dash', '-rc'],
    ['a slash', 'a/b'],
    ['a colon', 'a:b'],
    ['a space', 'a b'],
    ['empty', ''],
  ])('rejects a tag: %s', (_what, tag) => {
    const problems = problemsWith({ tag });
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/^tag .* is not a valid tag/);
  });

  test.each([
    ['one component', 'api'],
    ['several components', 'payments/team/api'],
    ['separators . _ __ and dashes', 'a.b_c__d---e'],
    ['digits', '0/1'],
  ])('accepts a repository: %s', (_what, repository) => {
    expect(repositoryProblem(repository)).toBeNull();
  });

  test.each([
    ['a parent component', '../etc'],
    ['an empty component', 'a//b'],
    ['uppercase', 'Payments/api'],
    ['a trailing slash', 'payments/'],
    ['a leading slash', '/payments'],
    ['a dot component', 'a/./b'],
    ['a dot-dot component inside', 'a/../b'],
    ['three underscores', 'a___b'],
    ['a leading separator', '-a'],
    ['a trailing separator', 'a-'],
    ['empty', ''],
    ['longer than 255 characters', `${'a'.repeat(128)}/${'b'.repeat(127)}`],
  ])('rejects a repository: %s', (_what, repository) => {
    const problems = problemsWith({ repository });
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/repository/);
  });

  test.each([
    'registry.example.com',
    'localhost',
    'localhost:5000',
    '127.0.0.1:5000',
    '[::1]:5000',
    '[2001:db8::1]',
    'myreg.azurecr.io',
  ])('accepts the host %s', (host) => {
    expect(hostProblem(host)).toBeNull();
  });

  test.each([
    'https://registry.example.com',
    '-bad.example.com',
    'bad-.example.com',
    'registry.example.com:123456',
    'registry.example.com/path',
    'a b',
    '',
    'evil.com@registry.example.com',
  ])('rejects the host %j', (host) => {
    const problems = problemsWith({ registryHost: host });
    expect(problems).toEqual([expect.stringMatching(/^registry host .* is not a valid host\[:port\]$/)]);
  });

  test.each([
    ['a newline', 'alice\nINFO forged log line'],
    ['a carriage return', 'alice\r'],
    ['a NUL', 'alice\u0000'],
    ['DEL', 'alice\u007f'],
    ['an escape sequence', '\u001b[31mred'],
  ])('rejects an actor containing %s', (_what, actor) => {
    expect(problemsWith({ actor })).toEqual(['actor contains control characters']);
  });

  test('accepts a null actor and a plain one with spaces and unicode', () => {
    expect(problemsWith({ actor: null })).toEqual([]);
    expect(problemsWith({ actor: 'Zoë Example <zoe@example.com>' })).toEqual([]);
  });

  test('rejects an actor longer than 256 characters', () => {
    expect(problemsWith({ actor: 'a'.repeat(256) })).toEqual([]);
    expect(problemsWith({ actor: 'a'.repeat(257) })).toEqual(['actor is longer than 256 characters']);
  });

  test('reports every problem of an event, each naming its field', () => {
    const problems = problemsWith({ id: '', registryHost: 'http://x', repository: '../etc', tag: '.x' });
    expect(problems).toHaveLength(4);
    expect(problems[0]).toMatch(/event id/);
    expect(problems[1]).toMatch(/registry host/);
    expect(problems[2]).toMatch(/repository/);
    expect(problems[3]).toMatch(/tag/);
  });

  test('rejects an action other than push or delete', () => {
    const problems = problemsWith({ action: 'pull' as RegistryEvent['action'] });
    expect(problems).toEqual(['action "pull" is not push, delete or attempt']);
  });

  test('quotes a control character in a problem instead of passing it on raw', () => {
    const [problem] = problemsWith({ tag: 'v1\n' });
    expect(problem).toContain('"v1\\n"');
    expect(problem).not.toContain('\n');
  });
});

describe('parseTagRef and formatTagRef', () => {
  test.each([
    ['registry.example.com/api:v1', { registryHost: 'registry.example.com', repository: 'api', tag: 'v1' }],
    [
      'registry.example.com:5000/team/payments/api:v1.2.3',
      { registryHost: 'registry.example.com:5000', repository: 'team/payments/api', tag: 'v1.2.3' },
    ],
    [
      '127.0.0.1:5000/payments/api:latest',
      { registryHost: '127.0.0.1:5000', repository: 'payments/api', tag: 'latest' },
    ],
    ['[::1]:5000/a/b:c', { registryHost: '[::1]:5000', repository: 'a/b', tag: 'c' }],
    ['localhost/x:_y', { registryHost: 'localhost', repository: 'x', tag: '_y' }],
  ])('parses %s and formats it back unchanged', (text, expected) => {
    const parsed = parseTagRef(text);
    expect(parsed).toEqual(expected);
    expect(formatTagRef(expected)).toBe(text);
  });

  test.each([
    ['no tag', 'registry.example.com/api'],
    ['a port but no tag', 'registry.example.com:5000/api'],
    ['no host', 'api:v1'],
    ['an empty host', '/api:v1'],
    ['an invalid repository', 'registry.example.com/../etc:v1'],
    ['an invalid tag', 'registry.example.com/api:.v1'],
    ['an empty tag', 'registry.example.com/api:'],
    ['a digest reference', `registry.example.com/api@sha256:${HEX64}`],
    ['an invalid host', 'bad host/api:v1'],
  ])('rejects a reference with %s', (_what, text) => {
    const parsed = parseTagRef(text);
    expect(parsed).toHaveProperty('problem');
    expect((parsed as { problem: string }).problem.length).toBeGreaterThan(0);
  });
});
