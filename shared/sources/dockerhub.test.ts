import fc from 'fast-check';
import docsLegacyNoTag from '../../test/fixtures/dockerhub/docs-sample-legacy-automated-build-no-tag.json';
import docsPush from '../../test/fixtures/dockerhub/docs-sample-push.json';
import notDockerHub from '../../test/fixtures/dockerhub/not-dockerhub-missing-push-data.json';
import controlCharacters from '../../test/fixtures/dockerhub/push-control-characters.json';
import emptyTag from '../../test/fixtures/dockerhub/push-empty-tag.json';
import helmChart from '../../test/fixtures/dockerhub/push-helm-chart.json';
import imageWithMediaType from '../../test/fixtures/dockerhub/push-image-with-media-type.json';
import officialBareName from '../../test/fixtures/dockerhub/push-official-image-bare-name.json';
import pathTraversal from '../../test/fixtures/dockerhub/push-path-traversal.json';
import pushedAtString from '../../test/fixtures/dockerhub/push-pushed-at-string.json';
import pusherControl from '../../test/fixtures/dockerhub/push-pusher-control-characters.json';
import tag129 from '../../test/fixtures/dockerhub/push-tag-129-chars.json';
import uppercaseRepository from '../../test/fixtures/dockerhub/push-uppercase-repository.json';
import pushValid from '../../test/fixtures/dockerhub/push-valid.json';
import { eventIdOf, expectNoCrash, onlyItem, parsedItems } from '../../test/support/parsing';
import { dockerhubParser } from './dockerhub';

const itemsOf = (body: unknown) => parsedItems(dockerhubParser, body);

const idOf = (body: unknown) => eventIdOf(dockerhubParser, body);

describe('dockerhub parser', () => {
  it('is registered under the name "dockerhub"', () => {
    expect(dockerhubParser.name).toBe('dockerhub');
  });

  describe('the documentation samples', () => {
    it('turns the webhook sample into a push on docker.io with no digest, pushed_at as UTC and the pusher as actor', () => {
      expect(itemsOf(docsPush)).toEqual([
        {
          kind: 'event',
          event: {
            // Pinned: a derived id must not change between releases, or redeliveries stop collapsing.
            id: 'dockerhub:0c320c751adfbad9',
            action: 'push',
            registryHost: 'docker.io',
            repository: 'svendowideit/testhook',
            tag: 'latest',
            digest: null,
            mediaType: null,
            timestamp: '2014-12-03T00:22:41.000Z',
            actor: 'trustedbuilder',
          },
        },
      ]);
    });

    it('ignores the older automated-build sample because it names no tag', () => {
      expect(itemsOf(docsLegacyNoTag)).toEqual([
        { kind: 'ignored', reason: 'push without a tag (push_data.tag is empty) is not a tag event' },
      ]);
    });

    it('reads pushed_at written as a float (1.417566161e+09) like the integer', () => {
      const withTag = structuredClone(docsLegacyNoTag) as { push_data: Record<string, unknown> };
      withTag.push_data.tag = 'latest';
      expect(idOf(withTag)).toBe(idOf(docsPush));
    });
  });

  it('turns a push into a push event with the exact normalized fields', () => {
    expect(itemsOf(pushValid)).toEqual([
      {
        kind: 'event',
        event: {
          id: expect.stringMatching(/^dockerhub:[0-9a-f]{16}$/),
          action: 'push',
          registryHost: 'docker.io',
          repository: 'acme/payments-api',
          tag: 'v1.4.0',
          digest: null,
          mediaType: null,
          timestamp: '2024-06-01T08:15:30.000Z',
          actor: 'ci-bot',
        },
      },
    ]);
  });

  it('ignores a Helm chart push (push_data.media_type is a Helm type), with the reason', () => {
    expect(onlyItem(dockerhubParser, helmChart)).toEqual({
      kind: 'ignored',
      reason:
        'Helm chart push (push_data.media_type "application/vnd.cncf.helm.config.v1+json") is not tracked',
    });
  });

  it('still records an image push that names its manifest media type', () => {
    const item = onlyItem(dockerhubParser, imageWithMediaType);
    expect(item).toMatchObject({ kind: 'event', event: { tag: 'v1.4.0', repository: 'acme/payments-api' } });
  });

  it('puts an official image named without a namespace under library/', () => {
    expect(itemsOf(officialBareName)).toEqual([
      {
        kind: 'event',
        event: {
          id: expect.stringMatching(/^dockerhub:[0-9a-f]{16}$/),
          action: 'push',
          registryHost: 'docker.io',
          repository: 'library/nginx',
          tag: '1.27-alpine',
          digest: null,
          mediaType: null,
          timestamp: '2024-06-01T08:15:30.000Z',
          actor: 'doi-bot',
        },
      },
    ]);
  });

  it('never reads or follows callback_url: the event is the same without it', () => {
    const { callback_url: _ignored, ...withoutCallback } = pushValid;
    expect(itemsOf(withoutCallback)).toEqual(itemsOf(pushValid));
  });

  describe('stable ids', () => {
    it('derives the same id from the same body twice', () => {
      expect(idOf(structuredClone(pushValid))).toBe(idOf(pushValid));
    });

    it('derives a different id for a different tag', () => {
      const retagged = structuredClone(pushValid);
      retagged.push_data.tag = 'v1.4.1';
      expect(idOf(retagged)).not.toBe(idOf(pushValid));
    });

    it('derives a different id for a later push of the same tag', () => {
      const later = structuredClone(pushValid);
      later.push_data.pushed_at += 60;
      expect(idOf(later)).not.toBe(idOf(pushValid));
    });
  });

  describe('hostile bodies', () => {
    it('rejects an upper-case repository', () => {
      expect(itemsOf(uppercaseRepository)).toEqual([
        {
          kind: 'rejected',
          reason: expect.stringMatching(
            /^repository\.repo_name "Acme\/Payments-API" is not a valid repository name/,
          ),
        },
      ]);
    });

    it('rejects a path-traversal repository', () => {
      expect(itemsOf(pathTraversal)).toEqual([
        {
          kind: 'rejected',
          reason: expect.stringMatching(
            /^repository\.repo_name "acme\/\.\.\/etc" is not a valid repository name/,
          ),
        },
      ]);
    });

    it('rejects a tag with control characters and shows them escaped', () => {
      expect(itemsOf(controlCharacters)).toEqual([
        {
          kind: 'rejected',
          reason: expect.stringMatching(/^push_data\.tag "v1\\u0000\\n" is not a valid tag/),
        },
      ]);
    });

    it('rejects a 129-character tag', () => {
      expect(itemsOf(tag129)).toEqual([
        {
          kind: 'rejected',
          reason: expect.stringMatching(/^push_data\.tag "v1{76}\.\.\." is not a valid tag/),
        },
      ]);
    });

    it('rejects pushed_at given as a string, naming the field', () => {
      expect(itemsOf(pushedAtString)).toEqual([
        { kind: 'rejected', reason: expect.stringMatching(/^push_data\.pushed_at: .*expected number/) },
      ]);
    });

    it('rejects a push without pushed_at, which the id depends on', () => {
      const body = structuredClone(pushValid) as { push_data: Record<string, unknown> };
      delete body.push_data.pushed_at;
      expect(itemsOf(body)).toEqual([{ kind: 'rejected', reason: 'push_data.pushed_at is missing' }]);
    });

    it('rejects a pushed_at that is not a plausible unix time', () => {
      const body = structuredClone(pushValid);
      body.push_data.pushed_at = 1e15;
      expect(itemsOf(body)).toEqual([
        { kind: 'rejected', reason: 'push_data.pushed_at 1000000000000000 is not a unix time in seconds' },
      ]);
    });

    it('rejects a pusher with control characters', () => {
      expect(itemsOf(pusherControl)).toEqual([
        { kind: 'rejected', reason: 'actor contains control characters' },
      ]);
    });

    it('rejects a repo_name that is not a string, naming the field', () => {
      const body = { ...pushValid, repository: { repo_name: ['acme/payments-api'] } };
      expect(itemsOf(body)).toEqual([
        { kind: 'rejected', reason: expect.stringMatching(/^repository\.repo_name: .*expected string/) },
      ]);
    });

    it('ignores a push with an empty tag', () => {
      expect(itemsOf(emptyTag)).toEqual([
        { kind: 'ignored', reason: 'push without a tag (push_data.tag is empty) is not a tag event' },
      ]);
    });
  });

  it.each([
    ['null', null],
    ['a string', 'push_data'],
    ['an array', [{}]],
    ['a body without push_data', notDockerHub],
    ['a body whose repository is a string', { push_data: {}, repository: 'acme/api' }],
  ])('refuses %s as a whole body', (_name, body) => {
    expect(dockerhubParser.parse(body)).toEqual({
      ok: false,
      reason: expect.stringMatching(/^not a Docker Hub webhook: /),
    });
  });

  it('never throws, whatever JSON it is given', () => {
    const nearPush = fc.record(
      {
        callback_url: fc.oneof(fc.string(), fc.jsonValue()),
        push_data: fc.oneof(
          fc.record(
            {
              pushed_at: fc.oneof(fc.integer(), fc.double(), fc.constant(1417566161), fc.jsonValue()),
              pusher: fc.oneof(fc.string(), fc.jsonValue()),
              tag: fc.oneof(fc.string(), fc.constant('latest'), fc.jsonValue()),
              images: fc.jsonValue(),
            },
            { requiredKeys: [] },
          ),
          fc.jsonValue(),
        ),
        repository: fc.oneof(
          fc.record(
            { repo_name: fc.oneof(fc.string(), fc.constant('acme/api'), fc.jsonValue()) },
            { requiredKeys: [] },
          ),
          fc.jsonValue(),
        ),
      },
      { requiredKeys: [] },
    );
    fc.assert(
      fc.property(fc.oneof(fc.jsonValue(), nearPush), (body) => {
        const result = dockerhubParser.parse(body);
        expectNoCrash(result);
      }),
      { numRuns: 2000 },
    );
  });
});
