import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SOURCE_PARSERS } from './index';

/**
 * One rule for every source (issue 14 C): a body that is not the source's format at all is refused
 * whole (the endpoint answers 400 with the reason); the format with an invalid item is understood
 * and that item rejected (202, recorded with its reason).
 */

const FIXTURES = join(__dirname, '..', '..', 'test', 'fixtures');
const fixture = (path: string): unknown => JSON.parse(readFileSync(join(FIXTURES, path), 'utf8'));

/** One well-formed body per source (from its documented sample or a fixture built from one). */
const VALID: Readonly<Record<string, string>> = {
  acr: 'acr/push-valid.json',
  'acr-eventgrid': 'acr-eventgrid/image-pushed-eventgrid-schema.json',
  artifactory: 'artifactory/docker-pushed-valid.json',
  distribution: 'distribution/push-host-from-url.json',
  dockerhub: 'dockerhub/push-valid.json',
  ecr: 'ecr/push-valid.json',
  gar: 'gar/insert-tag-valid.json',
  ghcr: 'ghcr/published-container-valid.json',
  harbor: 'harbor/docs-sample-default-push.json',
  quay: 'quay/docs-sample-repository-push.json',
};

/** One body per source in its format whose item is invalid (a SHA-1 digest, a traversal path…). */
const INVALID_ITEM: Readonly<Record<string, string>> = {
  acr: 'acr/push-sha1-invalid.json',
  'acr-eventgrid': 'acr-eventgrid/mixed-batch.json',
  artifactory: 'artifactory/docker-pushed-sha1-checksum.json',
  distribution: 'distribution/hostile-batch.json',
  dockerhub: 'dockerhub/push-uppercase-repository.json',
  ecr: 'ecr/hostile-array.json',
  gar: 'gar/insert-sha1-digest.json',
  ghcr: 'ghcr/published-container-sha1-digest.json',
  harbor: 'harbor/default-push-path-traversal.json',
  quay: 'quay/push-path-traversal.json',
};

const FOREIGN: ReadonlyArray<[string, unknown]> = [
  ['null', null],
  ['a number', 42],
  ['a string', 'hello'],
  ['an empty array', []],
  ['an array of numbers', [1, 2]],
  ['an empty object', {}],
  ['an unrelated object', { hello: 'world', action: 'push' }],
];

const sources = [...SOURCE_PARSERS.keys()].sort();

test('the table covers every source', () => {
  expect(Object.keys(VALID).sort()).toEqual(sources);
  expect(Object.keys(INVALID_ITEM).sort()).toEqual(sources);
});

describe.each(sources)('%s', (name) => {
  const parser = SOURCE_PARSERS.get(name)!;

  test('its own valid body gives an event', () => {
    const result = parser.parse(fixture(VALID[name]!));
    expect(result.ok && result.items.map((i) => i.kind)).toContain('event');
  });

  test('its format with an invalid item: understood, the item rejected with a reason', () => {
    const result = parser.parse(fixture(INVALID_ITEM[name]!));
    expect(result.ok).toBe(true);
    const rejected = result.ok ? result.items.filter((i) => i.kind === 'rejected') : [];
    expect(rejected.length).toBeGreaterThan(0);
    for (const item of rejected) expect(item.kind === 'rejected' && item.reason).toMatch(/\w/);
  });

  test.each(FOREIGN)('not its format (%s): refused whole with a reason', (_what, body) => {
    const result = parser.parse(body);
    expect(result).toEqual({ ok: false, reason: expect.stringMatching(/\w/) });
  });

  test.each(sources.filter((other) => other !== name))(
    "another source's body (%s): refused whole with a reason",
    (other) => {
      const result = parser.parse(fixture(VALID[other]!));
      expect(result).toEqual({ ok: false, reason: expect.stringMatching(/\w/) });
    },
  );
});
