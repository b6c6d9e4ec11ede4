import {
  eventProblems,
  hostProblem,
  parseTagRef,
  quote,
  type RegistryEvent,
  repositoryProblem,
  tagProblem,
} from '../../shared/core';
import { pushEvent } from '../support/events';

// The grammar's edges the wider grammar tests leave open: media types, event ids and times, the
// letters and separators each character class allows, and how a problem quotes what it names.
function problemsWith(overrides: Partial<RegistryEvent>): string[] {
  return eventProblems(pushEvent({ id: 'evt-1', ...overrides }));
}

describe('media types', () => {
  test.each([
    'application/vnd.oci.image.manifest.v1+json',
    'Application/JSON',
    '0type/9sub',
    'a!#$&^_.+-z/b!#$&^_.+-y',
    'A/a',
    `${'t'.repeat(127)}/${'s'.repeat(127)}`,
  ])('accepts %j', (mediaType) => {
    expect(problemsWith({ mediaType })).toEqual([]);
  });

  test('accepts no media type at all (a tag delete carries none)', () => {
    expect(problemsWith({ mediaType: null })).toEqual([]);
  });

  test.each([
    ['no subtype', 'application'],
    ['an empty subtype', 'application/'],
    ['an empty type', '/json'],
    ['a leading space', ' application/json'],
    ['a trailing parameter', 'application/json; charset=utf-8'],
    ['a second slash', 'application/vnd/json'],
    ['a leading separator in the type', '+application/json'],
    ['a leading separator in the subtype', 'application/.json'],
    ['a type longer than 127 characters', `${'t'.repeat(128)}/json`],
    ['a subtype longer than 127 characters', `application/${'s'.repeat(128)}`],
    ['a newline', 'application/json\n'],
  ])('rejects %s', (_what, mediaType) => {
    expect(problemsWith({ mediaType })).toEqual([`mediaType ${quote(mediaType)} is not a valid media type`]);
  });
});

describe('event ids and times', () => {
  test('an id of 256 printable characters is fine; one more is too long', () => {
    expect(problemsWith({ id: '!'.repeat(128) + '~'.repeat(128) })).toEqual([]);
    expect(problemsWith({ id: 'e'.repeat(257) })).toEqual(['event id is longer than 256 characters']);
  });

  test.each([
    ['a space', 'evt 1'],
    ['a non-ASCII letter', 'evt-é'],
    ['a newline', 'evt-1\n'],
    ['a leading tab', '\tevt-1'],
  ])('an id with %s is refused', (_what, id) => {
    expect(problemsWith({ id })).toEqual(['event id has characters outside printable ASCII']);
  });

  test('a timestamp that is not a time is a problem naming it; none at all is fine', () => {
    expect(problemsWith({ timestamp: 'yesterday' })).toEqual([
      'timestamp "yesterday" is not an ISO-8601 time',
    ]);
    expect(problemsWith({ timestamp: null })).toEqual([]);
  });
});

describe('character classes', () => {
  test.each(['V1', 'Release-2', '1.0', '9', 'vRC_1', 'a-B.c_D'])('accepts the tag %j', (tag) => {
    expect(tagProblem(tag)).toBeNull();
  });

  test('a repository of exactly 255 characters is fine', () => {
    expect(repositoryProblem(`${'a'.repeat(127)}/${'b'.repeat(127)}`)).toBeNull();
  });

  test.each([
    'My-Registry.Example.com',
    'REGISTRY',
    '9registry.example.com',
    'r.a-b-c.io:443',
    '[::FFFF:192.0.2.1]:443',
    '[2001:DB8::1]',
  ])('accepts the host %j', (host) => {
    expect(hostProblem(host)).toBeNull();
  });
});

describe('quote', () => {
  test('quotes up to 80 characters whole and shortens longer values to 77 and an ellipsis', () => {
    expect(quote('x'.repeat(80))).toBe(`"${'x'.repeat(80)}"`);
    expect(quote('x'.repeat(81))).toBe(`"${'x'.repeat(77)}..."`);
  });
});

describe('parseTagRef', () => {
  test.each([
    ['an empty host', '/api:v1'],
    ['no host', 'api:v1'],
    ['no tag', 'registry.example.com/api'],
    ['a colon only in the host', 'registry.example.com:5000/api'],
  ])('names the expected shape when %s', (_what, text) => {
    expect(parseTagRef(text)).toEqual({ problem: `${quote(text)} is not <registryHost>/<repository>:<tag>` });
  });

  test('names the part that is wrong once the shape is right', () => {
    expect(parseTagRef('registry.example.com/api:.v1')).toEqual({ problem: tagProblem('.v1') });
    expect(parseTagRef('bad host/api:v1')).toEqual({ problem: hostProblem('bad host') });
    expect(parseTagRef('registry.example.com/API:v1')).toEqual({ problem: repositoryProblem('API') });
  });
});
