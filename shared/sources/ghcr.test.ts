import fc from 'fast-check';
import docsContainerNpmType from '../../test/fixtures/ghcr/docs-sample-published-docker-npm-type-empty-tag.json';
import docsNpm from '../../test/fixtures/ghcr/docs-sample-published-npm.json';
import badUpdatedAt from '../../test/fixtures/ghcr/published-container-bad-updated-at.json';
import controlCharacters from '../../test/fixtures/ghcr/published-container-control-characters.json';
import digestOnly from '../../test/fixtures/ghcr/published-container-digest-only.json';
import noHost from '../../test/fixtures/ghcr/published-container-no-host.json';
import pathTraversal from '../../test/fixtures/ghcr/published-container-path-traversal.json';
import sha1Digest from '../../test/fixtures/ghcr/published-container-sha1-digest.json';
import publishedValid from '../../test/fixtures/ghcr/published-container-valid.json';
import maven from '../../test/fixtures/ghcr/published-maven.json';
import registryPackage from '../../test/fixtures/ghcr/registry-package-published-container.json';
import updatedWithScheme from '../../test/fixtures/ghcr/updated-container-with-scheme.json';
import { expectNoCrash, parsedItems } from '../../test/support/parsing';
import { ghcrParser } from './ghcr';
import type { SourceRequest } from './types';

const D1 = 'sha256:3da1996a8115d7616457760d9920b815241d0a03b34cf5f04e9a0e9d8de37498';
const DELIVERY = '72d3162e-cc78-11e3-81ab-4c9367dc0958';

function packageRequest(delivery?: string): SourceRequest {
  return { headers: { 'x-github-event': 'package', 'x-github-delivery': delivery } };
}

const itemsOf = (body: unknown, request?: SourceRequest) => parsedItems(ghcrParser, body, request);

const publishedEvent = {
  id: DELIVERY,
  action: 'push',
  registryHost: 'ghcr.io',
  repository: 'codertocat/hello-world',
  tag: 'v1.2.0',
  digest: D1,
  mediaType: null,
  timestamp: '2024-06-01T08:15:30.000Z',
  actor: 'octocat',
};

describe('ghcr parser', () => {
  it('is registered under the name "ghcr"', () => {
    expect(ghcrParser.name).toBe('ghcr');
  });

  describe('the documentation samples', () => {
    it('ignores the container sample because its package_type is "npm" (and its tag is empty)', () => {
      expect(itemsOf(docsContainerNpmType, packageRequest(DELIVERY))).toEqual([
        { kind: 'ignored', reason: 'package.package_type "npm" is not a container package' },
      ]);
    });

    it('ignores the npm package sample because it is not a container package', () => {
      expect(itemsOf(docsNpm, packageRequest(DELIVERY))).toEqual([
        { kind: 'ignored', reason: expect.stringMatching(/package_type "npm" is not a container package/) },
      ]);
    });

    it('ignores the container sample as digest-only once its package_type is corrected to CONTAINER', () => {
      const body = {
        ...docsContainerNpmType,
        package: { ...docsContainerNpmType.package, package_type: 'CONTAINER' },
      };
      expect(itemsOf(body, packageRequest(DELIVERY))).toEqual([
        {
          kind: 'ignored',
          reason: expect.stringMatching(/^digest-only push \(container_metadata\.tag\.name is empty\)/),
        },
      ]);
    });
  });

  it('turns a published container version into a push with the delivery id, lower-cased repository and sender', () => {
    expect(itemsOf(publishedValid, packageRequest(DELIVERY))).toEqual([
      { kind: 'event', event: publishedEvent },
    ]);
  });

  it('counts an "updated" container version as a push, takes the host from a package_url with a scheme and normalizes the time to UTC', () => {
    expect(itemsOf(updatedWithScheme, packageRequest('d-2'))).toEqual([
      {
        kind: 'event',
        event: {
          id: 'd-2',
          action: 'push',
          registryHost: 'ghcr.io',
          repository: 'octo-org/tools/api-server',
          tag: 'latest',
          digest: 'sha256:6ec128e26cd5b0e4a5f2d1c3b7a9e8f6d4c2b0a1e3f5d7c9b8a6e4f2d0c1b3a5',
          mediaType: null,
          timestamp: '2024-06-02T07:00:00.250Z',
          actor: 'monalisa',
        },
      },
    ]);
  });

  describe('without an X-GitHub-Delivery header', () => {
    it('derives a "ghcr:" id from the content', () => {
      const [item] = itemsOf(publishedValid);
      expect(item).toEqual({
        kind: 'event',
        event: { ...publishedEvent, id: expect.stringMatching(/^ghcr:[0-9a-f]{16}$/) },
      });
    });

    it('derives the same id for identical bodies', () => {
      const first = itemsOf(structuredClone(publishedValid))[0];
      const second = itemsOf(structuredClone(publishedValid), { headers: {} })[0];
      expect(first).toEqual(second);
    });

    it('derives a different id when the digest differs', () => {
      const other = structuredClone(publishedValid);
      other.package.package_version.version = `sha256:${'a'.repeat(64)}`;
      const [a] = itemsOf(publishedValid);
      const [b] = itemsOf(other);
      expect(a?.kind === 'event' && b?.kind === 'event' && a.event.id !== b.event.id).toBe(true);
    });
  });

  it.each([
    ['ping', /^GitHub event "ping" ignored: only "package" and "registry_package" events/],
    ['push', /^GitHub event "push" ignored/],
  ])('ignores a body whose X-GitHub-Event header says "%s"', (event, reason) => {
    expect(itemsOf(publishedValid, { headers: { 'x-github-event': event } })).toEqual([
      { kind: 'ignored', reason: expect.stringMatching(reason) },
    ]);
  });

  describe('registry_package events (GitHub sends them besides package)', () => {
    const asRegistryPackage = {
      headers: { 'x-github-event': 'registry_package', 'x-github-delivery': DELIVERY },
    };

    it('reads a registry_package event as the same push', () => {
      expect(itemsOf(registryPackage, asRegistryPackage)).toEqual([{ kind: 'event', event: publishedEvent }]);
    });

    it('reads it without headers too, and gives it the id of the package delivery of the same push', () => {
      const [a] = itemsOf(registryPackage);
      const [b] = itemsOf(publishedValid);
      expect(a).toEqual({ kind: 'event', event: { ...publishedEvent, id: expect.stringMatching(/^ghcr:/) } });
      expect(a?.kind === 'event' && b?.kind === 'event' && a.event.id).toBe(
        b?.kind === 'event' && b.event.id,
      );
    });

    it('names the registry_package field in its reasons', () => {
      const bad = structuredClone(registryPackage);
      bad.registry_package.package_version.version = 'sha1:abc';
      expect(itemsOf(bad, asRegistryPackage)).toEqual([
        {
          kind: 'rejected',
          reason: expect.stringMatching(/^registry_package\.package_version\.version "sha1:abc"/),
        },
      ]);
    });

    it('refuses a registry_package delivery whose body has no registry_package object', () => {
      expect(ghcrParser.parse(publishedValid, asRegistryPackage)).toEqual({
        ok: false,
        reason: expect.stringMatching(/registry_package \(an object\) is missing/),
      });
    });
  });

  it('ignores a package type other than container', () => {
    expect(itemsOf(maven)).toEqual([
      { kind: 'ignored', reason: 'package.package_type "maven" is not a container package' },
    ]);
  });

  it('accepts "docker" as a container package type', () => {
    const body = { ...publishedValid, package: { ...publishedValid.package, package_type: 'docker' } };
    expect(itemsOf(body, packageRequest(DELIVERY))).toEqual([{ kind: 'event', event: publishedEvent }]);
  });

  it.each(['deleted', 'restored', 'created'])('ignores the action "%s"', (action) => {
    expect(itemsOf({ ...publishedValid, action })).toEqual([
      { kind: 'ignored', reason: expect.stringMatching(new RegExp(`^action "${action}" ignored`)) },
    ]);
  });

  it('ignores a container version without a tag as digest-only', () => {
    expect(itemsOf(digestOnly)).toEqual([
      { kind: 'ignored', reason: expect.stringMatching(/^digest-only push/) },
    ]);
  });

  describe('hostile and broken bodies', () => {
    it('rejects a path-traversal package_url', () => {
      expect(itemsOf(pathTraversal)).toEqual([
        {
          kind: 'rejected',
          reason: expect.stringMatching(
            /^package\.package_version\.package_url repository "codertocat\/\.\.\/\.\.\/etc\/passwd" is not a valid repository name/,
          ),
        },
      ]);
    });

    it('rejects a tag with control characters and shows them escaped', () => {
      expect(itemsOf(controlCharacters)).toEqual([
        {
          kind: 'rejected',
          reason: expect.stringMatching(
            /^package\.package_version\.container_metadata\.tag\.name "v1\\u0000\\n" is not a valid tag/,
          ),
        },
      ]);
    });

    it('rejects a sha1 version digest', () => {
      expect(itemsOf(sha1Digest)).toEqual([
        {
          kind: 'rejected',
          reason: expect.stringMatching(
            /^package\.package_version\.version "sha1:[0-9a-f]{40}" is not a valid digest/,
          ),
        },
      ]);
    });

    it('rejects a non-ASCII tag', () => {
      const body = structuredClone(publishedValid);
      body.package.package_version.container_metadata.tag.name = 'latést';
      expect(itemsOf(body)).toEqual([
        { kind: 'rejected', reason: expect.stringMatching(/tag\.name "latést" is not a valid tag/) },
      ]);
    });

    it('rejects a package_url that names no host', () => {
      expect(itemsOf(noHost)).toEqual([
        {
          kind: 'rejected',
          reason: 'package.package_version.package_url "Codertocat/hello-world:v1" names no registry host',
        },
      ]);
    });

    it('rejects an unparseable package.updated_at', () => {
      expect(itemsOf(badUpdatedAt)).toEqual([
        { kind: 'rejected', reason: 'package.updated_at "yesterday" is not an RFC 3339 time' },
      ]);
    });

    it('rejects a container event without package_version, naming the field', () => {
      const body = { ...publishedValid, package: { ...publishedValid.package, package_version: undefined } };
      expect(itemsOf(body)).toEqual([
        { kind: 'rejected', reason: expect.stringMatching(/^package\.package_version is missing/) },
      ]);
    });

    it('rejects a delivery id with characters outside printable ASCII', () => {
      expect(itemsOf(publishedValid, packageRequest('bad id\n'))).toEqual([
        { kind: 'rejected', reason: 'event id has characters outside printable ASCII' },
      ]);
    });
  });

  it.each([
    ['null', null],
    ['a string', 'package'],
    ['an array', []],
    ['an object without package', { action: 'published' }],
    ['an object without action', { package: {} }],
  ])('refuses %s as a whole body', (_name, body) => {
    expect(ghcrParser.parse(body, packageRequest(DELIVERY))).toEqual({
      ok: false,
      reason: expect.stringMatching(/^not a GitHub package event/),
    });
  });

  it('never throws, whatever JSON it is given', () => {
    const nearEvent = fc.record(
      {
        action: fc.oneof(fc.constantFrom('published', 'updated', 'deleted'), fc.jsonValue()),
        package: fc.oneof(
          fc.record(
            {
              package_type: fc.oneof(
                fc.constantFrom('CONTAINER', 'container', 'docker', 'npm'),
                fc.jsonValue(),
              ),
              updated_at: fc.oneof(fc.constant('2024-06-01T08:15:30Z'), fc.string()),
              package_version: fc.oneof(
                fc.record(
                  {
                    version: fc.oneof(fc.constant(D1), fc.string()),
                    package_url: fc.oneof(fc.constant('ghcr.io/o/n:t'), fc.string()),
                    container_metadata: fc.oneof(
                      fc.record({ tag: fc.oneof(fc.record({ name: fc.string() }), fc.jsonValue()) }),
                      fc.jsonValue(),
                    ),
                  },
                  { requiredKeys: [] },
                ),
                fc.jsonValue(),
              ),
            },
            { requiredKeys: [] },
          ),
          fc.jsonValue(),
        ),
        sender: fc.oneof(fc.record({ login: fc.string() }), fc.jsonValue()),
      },
      { requiredKeys: [] },
    );
    const headers = fc.record(
      {
        'x-github-event': fc.oneof(fc.constant('package'), fc.string()),
        'x-github-delivery': fc.string(),
      },
      { requiredKeys: [] },
    );
    fc.assert(
      fc.property(fc.oneof(fc.jsonValue(), nearEvent), headers, (body, h) => {
        const result = ghcrParser.parse(body, { headers: h });
        expectNoCrash(result);
      }),
      { numRuns: 2000 },
    );
  });
});
