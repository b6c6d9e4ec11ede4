import fc from 'fast-check';
import deletedValid from '../../test/fixtures/artifactory/docker-deleted-valid.json';
import promoted from '../../test/fixtures/artifactory/docker-promoted.json';
import controlCharacters from '../../test/fixtures/artifactory/docker-pushed-control-characters.json';
import missingOrigin from '../../test/fixtures/artifactory/docker-pushed-missing-origin.json';
import pathTraversal from '../../test/fixtures/artifactory/docker-pushed-path-traversal.json';
import sha1Checksum from '../../test/fixtures/artifactory/docker-pushed-sha1-checksum.json';
import uppercaseImage from '../../test/fixtures/artifactory/docker-pushed-uppercase-image.json';
import pushedValid from '../../test/fixtures/artifactory/docker-pushed-valid.json';
import wrongTypes from '../../test/fixtures/artifactory/docker-pushed-wrong-types.json';
import docsArtifactDeployed from '../../test/fixtures/artifactory/docs-sample-artifact-deployed.json';
import docsDeletedPlaceholders from '../../test/fixtures/artifactory/docs-sample-docker-deleted-in-envelope-placeholders.json';
import docsDeletedFlat from '../../test/fixtures/artifactory/docs-sample-docker-deleted-without-envelope.json';
import docsPushedFlat from '../../test/fixtures/artifactory/docs-sample-docker-pushed-without-envelope.json';
import { eventIdOf, expectNoCrash, parsedItems } from '../../test/support/parsing';
import { artifactoryParser } from './artifactory';

const UBUNTU = 'sha256:35c4a2c15539c6c1e4e5fa4e554dac323ad0107d8eb5c582d6ff386b383b7dce';

const itemsOf = (body: unknown) => parsedItems(artifactoryParser, body);

const idOf = (body: unknown) => eventIdOf(artifactoryParser, body);

describe('artifactory parser', () => {
  it('is registered under the name "artifactory"', () => {
    expect(artifactoryParser.name).toBe('artifactory');
  });

  describe('the documentation samples', () => {
    it('refuses the "Domain: Docker" pushed sample as a whole body because it is printed without the domain/data envelope', () => {
      expect(artifactoryParser.parse(docsPushedFlat)).toEqual({
        ok: false,
        reason: expect.stringMatching(/^not a JFrog webhook event: domain is missing; data is missing/),
      });
    });

    it('refuses the "Domain: Docker" deleted sample as a whole body for the same reason', () => {
      expect(artifactoryParser.parse(docsDeletedFlat)).toEqual({
        ok: false,
        reason: expect.stringMatching(/^not a JFrog webhook event: domain is missing/),
      });
    });

    it('rejects the deleted sample in its envelope because its sha256 is the placeholder "sample_checksum"', () => {
      expect(itemsOf(docsDeletedPlaceholders)).toEqual([
        {
          kind: 'rejected',
          reason: expect.stringMatching(/^data\.sha256 "sha256:sample_checksum" is not a valid digest/),
        },
      ]);
    });

    it('ignores the artifact-domain deployed sample because only the docker domain carries tags', () => {
      expect(itemsOf(docsArtifactDeployed)).toEqual([
        { kind: 'ignored', reason: 'domain "artifact" ignored: only "docker" domain events are tag events' },
      ]);
    });
  });

  it('turns the pushed sample, in its envelope, into a push event: repo_key/image_name, sha256: digest, actor without "jfrog/"', () => {
    expect(itemsOf(pushedValid)).toEqual([
      {
        kind: 'event',
        event: {
          id: expect.stringMatching(/^artifactory:[0-9a-f]{16}$/),
          action: 'push',
          registryHost: 'acme.jfrog.io',
          repository: 'docker-remote-cache/library/ubuntu',
          tag: 'latest',
          digest: UBUNTU,
          mediaType: null,
          timestamp: null,
          actor: 'ci-bot',
        },
      },
    ]);
  });

  it('turns a deleted tag into a delete event with a lower-cased host from jpd_origin', () => {
    expect(itemsOf(deletedValid)).toEqual([
      {
        kind: 'event',
        event: {
          id: expect.stringMatching(/^artifactory:[0-9a-f]{16}$/),
          action: 'delete',
          registryHost: 'acme.jfrog.io',
          repository: 'docker-local/payments/api',
          tag: 'v1.3.9',
          digest: 'sha256:6ec128e26cd5b0e4a5f2d1c3b7a9e8f6d4c2b0a1e3f5d7c9b8a6e4f2d0c1b3a5',
          mediaType: null,
          timestamp: null,
          actor: 'alice',
        },
      },
    ]);
  });

  describe('derived ids', () => {
    it('are the same for identical bodies (a redelivery)', () => {
      expect(idOf(structuredClone(pushedValid))).toBe(idOf(structuredClone(pushedValid)));
    });

    it('differ when the sha256 differs', () => {
      const other = structuredClone(pushedValid);
      other.data.sha256 = 'a'.repeat(64);
      expect(idOf(other)).not.toBe(idOf(pushedValid));
    });

    it('differ between a push and a delete of the same tag and digest', () => {
      expect(idOf({ ...pushedValid, event_type: 'deleted' })).not.toBe(idOf(pushedValid));
    });
  });

  it('ignores a promotion with a reason', () => {
    expect(itemsOf(promoted)).toEqual([
      {
        kind: 'ignored',
        reason: expect.stringMatching(/^event_type "promoted" ignored: .*push in the target repository/),
      },
    ]);
  });

  it('ignores an unknown docker event type', () => {
    expect(itemsOf({ ...pushedValid, event_type: 'pulled' })).toEqual([
      { kind: 'ignored', reason: 'event_type "pulled" ignored: not pushed or deleted' },
    ]);
  });

  it('lower-cases an upper-case repo_key and image_name', () => {
    expect(itemsOf(uppercaseImage)).toEqual([
      { kind: 'event', event: expect.objectContaining({ repository: 'docker-local/payments/api' }) },
    ]);
  });

  it('keeps an actor null when source is absent', () => {
    expect(itemsOf({ ...pushedValid, source: undefined })).toEqual([
      { kind: 'event', event: expect.objectContaining({ actor: null }) },
    ]);
  });

  it('ignores a pushed event without a tag', () => {
    expect(itemsOf({ ...pushedValid, data: { ...pushedValid.data, tag: '' } })).toEqual([
      { kind: 'ignored', reason: 'pushed event without data.tag is not a tag event' },
    ]);
  });

  describe('hostile and broken bodies', () => {
    it('rejects a path-traversal image_name', () => {
      expect(itemsOf(pathTraversal)).toEqual([
        {
          kind: 'rejected',
          reason: expect.stringMatching(
            /^data\.repo_key\/data\.image_name "docker-remote-cache\/\.\.\/\.\.\/etc\/passwd" is not a valid repository name/,
          ),
        },
      ]);
    });

    it('rejects a tag with control characters and shows them escaped', () => {
      expect(itemsOf(controlCharacters)).toEqual([
        {
          kind: 'rejected',
          reason: expect.stringMatching(/^data\.tag "latest\\u0000\\r\\n" is not a valid tag/),
        },
      ]);
    });

    it('rejects a 40-digit (sha1-length) checksum in data.sha256', () => {
      expect(itemsOf(sha1Checksum)).toEqual([
        {
          kind: 'rejected',
          reason: expect.stringMatching(/^data\.sha256 "sha256:[0-9a-f]{40}" is not a valid digest/),
        },
      ]);
    });

    it('rejects a push without data.sha256', () => {
      expect(itemsOf({ ...pushedValid, data: { ...pushedValid.data, sha256: undefined } })).toEqual([
        { kind: 'rejected', reason: 'data.sha256 is missing on a push' },
      ]);
    });

    it('rejects an event without jpd_origin, which names the host', () => {
      expect(itemsOf(missingOrigin)).toEqual([
        { kind: 'rejected', reason: 'jpd_origin is missing: it names the registry host' },
      ]);
    });

    it('rejects wrongly typed data fields, naming them', () => {
      expect(itemsOf(wrongTypes)).toEqual([
        { kind: 'rejected', reason: expect.stringMatching(/^data\.repo_key: .*; data\.tag: /) },
      ]);
    });

    it('rejects data that is not an object', () => {
      expect(itemsOf({ ...pushedValid, data: 'x' })).toEqual([
        { kind: 'rejected', reason: 'data is missing or not an object' },
      ]);
    });
  });

  it.each([
    ['null', null],
    ['an array', []],
    ['an object without domain', { event_type: 'pushed', data: {} }],
    ['an object whose event_type is not a string', { domain: 'docker', event_type: 1, data: {} }],
  ])('refuses %s as a whole body', (_name, body) => {
    expect(artifactoryParser.parse(body)).toEqual({
      ok: false,
      reason: expect.stringMatching(/^not a JFrog webhook event/),
    });
  });

  it('never throws, whatever JSON it is given', () => {
    const nearEvent = fc.record(
      {
        domain: fc.oneof(fc.constantFrom('docker', 'artifact'), fc.jsonValue()),
        event_type: fc.oneof(fc.constantFrom('pushed', 'deleted', 'promoted'), fc.jsonValue()),
        data: fc.oneof(
          fc.record(
            {
              repo_key: fc.oneof(fc.constant('docker-local'), fc.string()),
              image_name: fc.oneof(fc.constant('library/ubuntu'), fc.string()),
              tag: fc.oneof(fc.constant('latest'), fc.string(), fc.jsonValue()),
              sha256: fc.oneof(fc.constant(UBUNTU.slice(7)), fc.string(), fc.jsonValue()),
            },
            { requiredKeys: [] },
          ),
          fc.jsonValue(),
        ),
        jpd_origin: fc.oneof(fc.constant('https://acme.jfrog.io'), fc.string(), fc.jsonValue()),
        source: fc.oneof(fc.constant('jfrog/admin'), fc.string(), fc.jsonValue()),
      },
      { requiredKeys: [] },
    );
    fc.assert(
      fc.property(fc.oneof(fc.jsonValue(), nearEvent), (body) => {
        const result = artifactoryParser.parse(body);
        expectNoCrash(result);
      }),
      { numRuns: 2000 },
    );
  });
});
