import fc from 'fast-check';
import docsBuildQueued from '../../test/fixtures/quay/docs-sample-build-queued-comments-removed.json';
import docsPush from '../../test/fixtures/quay/docs-sample-repository-push.json';
import legacyObjectTags from '../../test/fixtures/quay/legacy-sample-updated-tags-object.json';
import withoutHost from '../../test/fixtures/quay/push-docker-url-without-host.json';
import emptyTags from '../../test/fixtures/quay/push-empty-updated-tags.json';
import hostileTags from '../../test/fixtures/quay/push-hostile-tags.json';
import pathTraversal from '../../test/fixtures/quay/push-path-traversal.json';
import severalTags from '../../test/fixtures/quay/push-several-tags-self-hosted.json';
import uppercaseRepository from '../../test/fixtures/quay/push-uppercase-repository.json';
import wrongTypes from '../../test/fixtures/quay/push-wrong-types.json';
import { eventIdsOf, expectNoCrash, parsedItems } from '../../test/support/parsing';
import { quayParser } from './quay';

const QUAY_ID = /^quay:[0-9a-f]{16}$/;

const itemsOf = (body: unknown) => parsedItems(quayParser, body);

const idsOf = (body: unknown) => eventIdsOf(quayParser, body);

describe('quay parser', () => {
  it('is registered under the name "quay"', () => {
    expect(quayParser.name).toBe('quay');
  });

  describe('the documentation samples', () => {
    it('turns the Repository Push sample into a push with the host of docker_url and no digest, time or actor', () => {
      expect(itemsOf(docsPush)).toEqual([
        {
          kind: 'event',
          event: {
            // Pinned: a derived id must not change between releases, or redeliveries stop collapsing.
            id: 'quay:82ac3ff0c76a6a7a',
            action: 'push',
            registryHost: 'quay.io',
            repository: 'dgangaia/test',
            tag: 'latest',
            digest: null,
            mediaType: null,
            timestamp: null,
            actor: null,
          },
        },
      ]);
    });

    it('ignores the Dockerfile Build Queued sample because it carries no updated_tags', () => {
      expect(itemsOf(docsBuildQueued)).toEqual([
        {
          kind: 'ignored',
          reason: expect.stringMatching(/^no updated_tags: not a repository push notification/),
        },
      ]);
    });

    it('refuses the 2013 push sample whose updated_tags is an object, naming the field', () => {
      expect(quayParser.parse(legacyObjectTags)).toEqual({
        ok: false,
        reason: expect.stringMatching(/^not a Quay repository notification: updated_tags: .*expected array/),
      });
    });
  });

  it('gives one push event per updated tag, with a lower-cased self-hosted host and port', () => {
    const event = {
      action: 'push',
      registryHost: 'registry.example.com:8443',
      repository: 'team/app',
      digest: null,
      mediaType: null,
      timestamp: null,
      actor: null,
    };
    expect(itemsOf(severalTags)).toEqual(
      ['v2.1.0', 'latest', 'v2.1'].map((tag) => ({
        kind: 'event',
        event: { ...event, tag, id: expect.stringMatching(QUAY_ID) },
      })),
    );
  });

  describe('stable ids', () => {
    it('derives the same ids from an identical notification delivered twice', () => {
      expect(idsOf(structuredClone(severalTags))).toEqual(idsOf(severalTags));
    });

    it('derives a different id for each tag of one notification', () => {
      expect(new Set(idsOf(severalTags)).size).toBe(3);
    });

    it('derives a different id for a different tag', () => {
      expect(idsOf({ ...docsPush, updated_tags: ['stable'] })).not.toEqual(idsOf(docsPush));
    });

    it('does not depend on the order of updated_tags', () => {
      const reordered = { ...severalTags, updated_tags: ['v2.1', 'v2.1.0', 'latest'] };
      expect(new Set(idsOf(reordered))).toEqual(new Set(idsOf(severalTags)));
    });
  });

  describe('hostile tags in one notification', () => {
    const items = itemsOf(hostileTags);

    it('keeps the good tag although the others are bad', () => {
      expect(items).toHaveLength(8);
      expect(items[0]).toEqual({
        kind: 'event',
        event: {
          id: expect.stringMatching(QUAY_ID),
          action: 'push',
          registryHost: 'quay.io',
          repository: 'team/app',
          tag: 'v1.0.0',
          digest: null,
          mediaType: null,
          timestamp: null,
          actor: null,
        },
      });
    });

    it('rejects a tag with control characters and shows them escaped', () => {
      expect(items[1]).toEqual({
        kind: 'rejected',
        reason: expect.stringMatching(/^updated_tags\[1\]: tag "v1\\u0000\\n" is not a valid tag/),
      });
    });

    it('rejects a 129-character tag', () => {
      expect(items[2]).toEqual({
        kind: 'rejected',
        reason: expect.stringMatching(/^updated_tags\[2\]: tag "v1{76}\.\.\." is not a valid tag/),
      });
    });

    it('rejects tags that are not strings (a number, null)', () => {
      expect(items[3]).toEqual({ kind: 'rejected', reason: 'updated_tags[3]: is not a string' });
      expect(items[6]).toEqual({ kind: 'rejected', reason: 'updated_tags[6]: is not a string' });
    });

    it('rejects a non-ASCII tag, an empty tag and a "../etc" tag', () => {
      expect(items[4]).toEqual({
        kind: 'rejected',
        reason: expect.stringMatching(/^updated_tags\[4\]: tag "latést" is not a valid tag/),
      });
      expect(items[5]).toEqual({
        kind: 'rejected',
        reason: expect.stringMatching(/^updated_tags\[5\]: tag "" is not a valid tag/),
      });
      expect(items[7]).toEqual({
        kind: 'rejected',
        reason: expect.stringMatching(/^updated_tags\[7\]: tag "\.\.\/etc" is not a valid tag/),
      });
    });
  });

  it('rejects an upper-case repository', () => {
    expect(itemsOf(uppercaseRepository)).toEqual([
      {
        kind: 'rejected',
        reason: expect.stringMatching(
          /^updated_tags\[0\]: repository "Team\/App" is not a valid repository name/,
        ),
      },
    ]);
  });

  it('rejects a path-traversal repository', () => {
    expect(itemsOf(pathTraversal)).toEqual([
      {
        kind: 'rejected',
        reason: expect.stringMatching(
          /^updated_tags\[0\]: repository "team\/\.\.\/etc" is not a valid repository name/,
        ),
      },
    ]);
  });

  it('rejects a docker_url without a registry host', () => {
    expect(itemsOf(withoutHost)).toEqual([
      { kind: 'rejected', reason: 'updated_tags[0]: docker_url "team/app" names no registry host' },
    ]);
  });

  it('ignores a notification with no updated tags', () => {
    expect(itemsOf(emptyTags)).toEqual([
      { kind: 'ignored', reason: 'updated_tags is empty: no tag changed' },
    ]);
  });

  it.each([
    ['null', null],
    ['a string', 'quay.io/team/app'],
    ['an array', [docsPush]],
    ['a body with wrong types', wrongTypes],
    ['a body without docker_url', { repository: 'team/app', updated_tags: ['latest'] }],
  ])('refuses %s as a whole body', (_name, body) => {
    expect(quayParser.parse(body)).toEqual({
      ok: false,
      reason: expect.stringMatching(/^not a Quay repository notification: /),
    });
  });

  it('never throws, whatever JSON it is given', () => {
    const nearPush = fc.record(
      {
        name: fc.oneof(fc.string(), fc.jsonValue()),
        repository: fc.oneof(fc.string(), fc.constant('team/app'), fc.jsonValue()),
        namespace: fc.oneof(fc.string(), fc.jsonValue()),
        docker_url: fc.oneof(fc.string(), fc.constant('quay.io/team/app'), fc.jsonValue()),
        updated_tags: fc.oneof(
          fc.array(fc.oneof(fc.string(), fc.constant('latest'), fc.jsonValue())),
          fc.jsonValue(),
        ),
      },
      { requiredKeys: [] },
    );
    fc.assert(
      fc.property(fc.oneof(fc.jsonValue(), nearPush), (body) => {
        const result = quayParser.parse(body);
        expectNoCrash(result);
      }),
      { numRuns: 2000 },
    );
  });
});
