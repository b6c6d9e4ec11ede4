import fc from 'fast-check';
import cloudEventsOperatorInData from '../../test/fixtures/harbor/cloudevents-push-operator-in-data.json';
import cloudEventsTwoTags from '../../test/fixtures/harbor/cloudevents-push-two-tags.json';
import cloudEventsUntagged from '../../test/fixtures/harbor/cloudevents-push-untagged.json';
import defaultDelete from '../../test/fixtures/harbor/default-delete.json';
import hostileResources from '../../test/fixtures/harbor/default-hostile-resources.json';
import pathTraversal from '../../test/fixtures/harbor/default-push-path-traversal.json';
import uppercaseRepository from '../../test/fixtures/harbor/default-push-uppercase-repository.json';
import wrongTypes from '../../test/fixtures/harbor/default-push-wrong-types.json';
import scanningCompleted from '../../test/fixtures/harbor/default-scanning-completed.json';
import docsCloudEventsPull from '../../test/fixtures/harbor/docs-sample-cloudevents-pull-untagged.json';
import docsDefaultPush from '../../test/fixtures/harbor/docs-sample-default-push.json';
import v1DeleteImage from '../../test/fixtures/harbor/v1-delete-image.json';
import v1PushImage from '../../test/fixtures/harbor/v1-push-image.json';
import v1UploadChart from '../../test/fixtures/harbor/v1-upload-chart.json';
import { expectNoCrash, eventsOf as parsedEvents, parsedItems } from '../../test/support/parsing';
import { contentId, fnv1a64Hex, hostOf } from './common';
import { harborParser } from './harbor';

const D_DEBIAN = 'sha256:8a9e9863dbb6e10edb5adfe917c00da84e1700fa76e7ed02476aa6e6fb8ee0d8';
const D_BUSYBOX = 'sha256:dde8e930c7b6a490f728e66292bc9bce42efc9bbb5278bae40e4f30f6e00fe8c';
const HARBOR_ID = /^harbor:[0-9a-f]{16}$/;

const itemsOf = (body: unknown) => parsedItems(harborParser, body);

const eventsOf = (body: unknown) => parsedEvents(harborParser, body);

describe('harbor parser', () => {
  it('is registered under the name "harbor"', () => {
    expect(harborParser.name).toBe('harbor');
  });

  describe('the documentation samples', () => {
    it('turns the Default-format push sample into a push event with the host of resource_url and occur_at as UTC', () => {
      expect(itemsOf(docsDefaultPush)).toEqual([
        {
          kind: 'event',
          event: {
            // Pinned: a derived id must not change between releases, or redeliveries stop collapsing.
            id: 'harbor:d03155b3e3b456e6',
            action: 'push',
            registryHost: 'hub.harbor.com',
            repository: 'test-webhook/debian',
            tag: 'latest',
            digest: D_DEBIAN,
            mediaType: null,
            timestamp: '2020-04-15T03:45:08.000Z',
            actor: 'admin',
          },
        },
      ]);
    });

    it('ignores the CloudEvents pull sample because a pull does not change a tag', () => {
      expect(itemsOf(docsCloudEventsPull)).toEqual([
        { kind: 'ignored', reason: 'type "harbor.artifact.pulled" ignored: a pull does not change a tag' },
      ]);
    });
  });

  describe('Harbor 1.x event types (the Default shape, older type names)', () => {
    const D_V1 = 'sha256:b4758aaed11c155a476b9857e1178f157759c99cb04c907a04993f5481eff848';
    const common = {
      registryHost: 'harbor.example.com',
      repository: 'mynamespace/repository',
      tag: '2.1.6',
      digest: D_V1,
      mediaType: null,
    };

    it('reads pushImage as a push', () => {
      expect(eventsOf(v1PushImage)).toEqual([
        {
          ...common,
          id: expect.stringMatching(HARBOR_ID),
          action: 'push',
          timestamp: '2020-02-25T14:24:48.000Z',
          actor: 'user',
        },
      ]);
    });

    it('reads deleteImage as a tag delete', () => {
      expect(eventsOf(v1DeleteImage)).toEqual([
        {
          ...common,
          id: expect.stringMatching(HARBOR_ID),
          action: 'delete',
          timestamp: '2020-02-25T14:29:59.000Z',
          actor: 'admin',
        },
      ]);
    });

    it('ignores uploadChart, pullImage and the 1.x scan types with their reasons', () => {
      expect(itemsOf(v1UploadChart)).toEqual([
        { kind: 'ignored', reason: 'type "uploadChart" ignored: Helm chart events are not tracked' },
      ]);
      expect(itemsOf({ ...v1PushImage, type: 'pullImage' })).toEqual([
        { kind: 'ignored', reason: 'type "pullImage" ignored: a pull does not change a tag' },
      ]);
      expect(itemsOf({ ...v1PushImage, type: 'scanningCompleted' })).toEqual([
        { kind: 'ignored', reason: 'type "scanningCompleted" ignored: scan results are not tag events' },
      ]);
    });
  });

  describe('the CloudEvents format', () => {
    it('gives one push event per resource, the event id suffixed with the resource index, and the operator extension as actor', () => {
      const event = {
        action: 'push',
        registryHost: 'harbor.dev',
        repository: 'library/busybox',
        digest: D_BUSYBOX,
        mediaType: null,
        timestamp: '2023-03-06T06:08:43.000Z',
        actor: 'admin',
      };
      expect(itemsOf(cloudEventsTwoTags)).toEqual([
        { kind: 'event', event: { ...event, id: '66e18103-09c1-41f6-982f-37df223f3eeb#0', tag: 'v1.0' } },
        { kind: 'event', event: { ...event, id: '66e18103-09c1-41f6-982f-37df223f3eeb#1', tag: 'stable' } },
      ]);
    });

    it('keeps the CloudEvents id unsuffixed for a single resource, converts time to UTC and reads an operator inside data', () => {
      expect(itemsOf(cloudEventsOperatorInData)).toEqual([
        {
          kind: 'event',
          event: {
            id: '7c1d2e3f-0000-4000-8000-000000000002',
            action: 'push',
            registryHost: 'harbor-cloudevents.example.net',
            repository: 'myapp/app',
            tag: '1.0',
            digest: 'sha256:4d59a5b2c6ad0e4b7b2d1f0f8e64c2b6c0e1a3f5d7b9c1e3f5a7b9d1e3f5a7b9',
            mediaType: null,
            timestamp: '2023-04-03T04:04:46.000Z',
            actor: 'ci-robot',
          },
        },
      ]);
    });

    it('ignores an untagged artifact push whose tag holds the digest', () => {
      expect(itemsOf(cloudEventsUntagged)).toEqual([
        {
          kind: 'ignored',
          reason: expect.stringMatching(
            /^data\.resources\[0\]: untagged artifact push \(tag holds the digest "sha256:dde8/,
          ),
        },
      ]);
    });

    it('rejects a CloudEvent whose time is not RFC 3339', () => {
      expect(itemsOf({ ...cloudEventsTwoTags, time: 'yesterday' })).toEqual([
        { kind: 'rejected', reason: 'time "yesterday" is not an RFC 3339 time' },
      ]);
    });

    it('rejects a CloudEvent without an id, naming the field', () => {
      const { id: _id, ...withoutId } = cloudEventsTwoTags;
      expect(itemsOf(withoutId)).toEqual([{ kind: 'rejected', reason: 'id is missing' }]);
    });
  });

  it('turns a DELETE_ARTIFACT into a delete event keeping the port of the host', () => {
    expect(itemsOf(defaultDelete)).toEqual([
      {
        kind: 'event',
        event: {
          id: expect.stringMatching(HARBOR_ID),
          action: 'delete',
          registryHost: 'harbor.example.com:8443',
          repository: 'payments/api',
          tag: 'v0.9.0',
          digest: D_DEBIAN,
          mediaType: null,
          timestamp: '2023-11-14T22:13:20.000Z',
          actor: 'alice',
        },
      },
    ]);
  });

  it('ignores a scan result', () => {
    expect(itemsOf(scanningCompleted)).toEqual([
      { kind: 'ignored', reason: 'type "SCANNING_COMPLETED" ignored: scan results are not tag events' },
    ]);
  });

  it.each(['QUOTA_EXCEED', 'REPLICATION', 'PULL_ARTIFACT', 'harbor.tag_retention.finished', 'constructor'])(
    'ignores the event type %s with a reason',
    (type) => {
      expect(itemsOf({ ...docsDefaultPush, type })).toEqual([
        { kind: 'ignored', reason: expect.stringMatching(new RegExp(`^type "${type}" ignored: .+`)) },
      ]);
    },
  );

  describe('content-derived ids (the helpers in common.ts)', () => {
    it('computes FNV-1a 64 as published test vectors say', () => {
      expect(fnv1a64Hex('')).toBe('cbf29ce484222325');
      expect(fnv1a64Hex('a')).toBe('af63dc4c8601ec8c');
      expect(fnv1a64Hex('foobar')).toBe('85944171f73967e8');
    });

    it('hashes UTF-8 bytes, and a lone surrogate like U+FFFD instead of throwing', () => {
      expect(fnv1a64Hex('é')).toBe(fnv1a64Hex('\u00e9'));
      expect(fnv1a64Hex('\ud800')).toBe(fnv1a64Hex('\ufffd'));
      expect(fnv1a64Hex('😀')).not.toBe(fnv1a64Hex('\ufffd\ufffd'));
    });

    it('keeps the parts apart, so moving a separator changes the id', () => {
      expect(contentId('x', ['a|b', 'c'])).not.toBe(contentId('x', ['a', 'b|c']));
    });

    it.each([
      ['harbor.example.com/library/nginx:latest', 'harbor.example.com'],
      [`Harbor.Example.com:8443/library/nginx@${D_DEBIAN}`, 'harbor.example.com:8443'],
      ['https://user@quay.io/ns/repo', 'quay.io'],
      ['localhost/ns/repo', 'localhost'],
      ['library/nginx:latest', null],
      ['harbor.example.com', null],
      ['/ns/repo', null],
      ['', null],
    ])('reads the registry host of %j as %j', (reference, host) => {
      expect(hostOf(reference, 'reference')).toBe(host);
    });
  });

  describe('stable ids for the Default format, which carries none', () => {
    it('derives the same id from the same body twice', () => {
      const [first] = eventsOf(docsDefaultPush);
      const [second] = eventsOf(structuredClone(docsDefaultPush));
      expect(first!.id).toBe(second!.id);
    });

    it('derives a different id for a different tag', () => {
      const retagged = structuredClone(docsDefaultPush);
      retagged.event_data.resources[0]!.tag = 'stable';
      expect(eventsOf(retagged)[0]!.id).not.toBe(eventsOf(docsDefaultPush)[0]!.id);
    });

    it('derives a different id for a later push of the same tag', () => {
      expect(eventsOf({ ...docsDefaultPush, occur_at: 1586922309 })[0]!.id).not.toBe(
        eventsOf(docsDefaultPush)[0]!.id,
      );
    });
  });

  describe('a push with hostile resources', () => {
    const items = itemsOf(hostileResources);

    it('keeps the good resource, taking the host from a URL with scheme, user info and upper case', () => {
      expect(items).toHaveLength(12);
      expect(items[0]).toEqual({
        kind: 'event',
        event: {
          id: expect.stringMatching(HARBOR_ID),
          action: 'push',
          registryHost: 'harbor.example.com:8443',
          repository: 'payments/api',
          tag: 'v1.4.0',
          digest: D_DEBIAN,
          mediaType: null,
          timestamp: '2023-11-14T22:13:20.000Z',
          actor: 'ci-bot',
        },
      });
    });

    it('rejects a tag with control characters and shows them escaped', () => {
      expect(items[1]).toEqual({
        kind: 'rejected',
        reason: expect.stringMatching(/^event_data\.resources\[1\]: tag "v1\\u0000\\n" is not a valid tag/),
      });
    });

    it('rejects a 129-character tag', () => {
      expect(items[2]).toEqual({
        kind: 'rejected',
        reason: expect.stringMatching(/^event_data\.resources\[2\]: tag "v1{76}\.\.\." is not a valid tag/),
      });
    });

    it('ignores an untagged artifact whose tag holds the digest', () => {
      expect(items[3]).toEqual({
        kind: 'ignored',
        reason: expect.stringMatching(
          /^event_data\.resources\[3\]: untagged artifact push \(tag holds the digest/,
        ),
      });
    });

    it('rejects a resource_url without a registry host', () => {
      expect(items[4]).toEqual({
        kind: 'rejected',
        reason: 'event_data.resources[4]: resource_url "payments/api:v1.4.1" names no registry host',
      });
    });

    it('rejects a truncated digest', () => {
      expect(items[5]).toEqual({
        kind: 'rejected',
        reason: expect.stringMatching(
          /^event_data\.resources\[5\]: digest "sha256:8a9e[0-9a-f]+" is not a valid digest/,
        ),
      });
    });

    it('rejects a tag that is a number, naming the field', () => {
      expect(items[6]).toEqual({
        kind: 'rejected',
        reason: expect.stringMatching(/^event_data\.resources\[6\]: tag: .*expected string/),
      });
    });

    it('rejects a resource that is not an object', () => {
      expect(items[7]).toEqual({ kind: 'rejected', reason: 'event_data.resources[7]: is not an object' });
    });

    it('rejects a non-ASCII tag', () => {
      expect(items[8]).toEqual({
        kind: 'rejected',
        reason: expect.stringMatching(/^event_data\.resources\[8\]: tag "latést" is not a valid tag/),
      });
    });

    it('ignores a resource with an empty tag as an untagged push', () => {
      expect(items[9]).toEqual({
        kind: 'ignored',
        reason: 'event_data.resources[9]: untagged artifact push (no tag) is not a tag event',
      });
    });

    it('rejects a tagged push without a digest', () => {
      expect(items[10]).toEqual({
        kind: 'rejected',
        reason: 'event_data.resources[10]: digest is missing on a push',
      });
    });

    it('rejects a resource_url that is a bare host with no repository path', () => {
      expect(items[11]).toEqual({
        kind: 'rejected',
        reason: 'event_data.resources[11]: resource_url "harbor.example.com" names no registry host',
      });
    });
  });

  it('rejects an upper-case repo_full_name, naming the field', () => {
    expect(itemsOf(uppercaseRepository)).toEqual([
      {
        kind: 'rejected',
        reason: expect.stringMatching(
          /^event_data\.resources\[0\]: event_data\.repository\.repo_full_name "Payments\/API" is not a valid repository name/,
        ),
      },
    ]);
  });

  it('rejects a path-traversal repo_full_name "../etc"', () => {
    expect(itemsOf(pathTraversal)).toEqual([
      {
        kind: 'rejected',
        reason: expect.stringMatching(
          /event_data\.repository\.repo_full_name "\.\.\/etc" is not a valid repository name/,
        ),
      },
    ]);
  });

  it('rejects a Default body with wrong types, naming each field', () => {
    expect(itemsOf(wrongTypes)).toEqual([
      {
        kind: 'rejected',
        reason: expect.stringMatching(
          /^occur_at: .*expected number.*; event_data\.resources: .*expected array/,
        ),
      },
    ]);
  });

  it('rejects an occur_at that is not a plausible unix time', () => {
    expect(itemsOf({ ...docsDefaultPush, occur_at: -5 })).toEqual([
      { kind: 'rejected', reason: 'occur_at -5 is not a unix time in seconds' },
    ]);
  });

  it('ignores a push that names no resources', () => {
    const body = structuredClone(docsDefaultPush) as { event_data: { resources: unknown[] } };
    body.event_data.resources = [];
    expect(itemsOf(body)).toEqual([
      { kind: 'ignored', reason: 'event_data.resources is empty: no artifact named' },
    ]);
  });

  it.each([
    ['null', null],
    ['a string', 'PUSH_ARTIFACT'],
    ['an array', [docsDefaultPush]],
    ['an object without type', { event_data: {} }],
    ['a type that is not a string', { type: 1, event_data: {} }],
    ['an object with neither event_data nor specversion', { type: 'PUSH_ARTIFACT', data: {} }],
  ])('refuses %s as a whole body', (_name, body) => {
    expect(harborParser.parse(body)).toEqual({
      ok: false,
      reason: expect.stringMatching(/^not a Harbor webhook: /),
    });
  });

  it('never throws, whatever JSON it is given', () => {
    const resource = fc.record(
      {
        digest: fc.oneof(fc.string(), fc.constant(D_DEBIAN), fc.jsonValue()),
        tag: fc.oneof(fc.string(), fc.constant(D_DEBIAN), fc.constant('v1'), fc.jsonValue()),
        resource_url: fc.oneof(fc.string(), fc.constant('harbor.example.com/a/b:v1'), fc.jsonValue()),
      },
      { requiredKeys: [] },
    );
    const data = fc.record(
      {
        resources: fc.oneof(fc.array(fc.oneof(resource, fc.jsonValue())), fc.jsonValue()),
        repository: fc.oneof(
          fc.record({ repo_full_name: fc.oneof(fc.string(), fc.constant('a/b')) }),
          fc.jsonValue(),
        ),
        operator: fc.oneof(fc.string(), fc.jsonValue()),
      },
      { requiredKeys: [] },
    );
    const type = fc.oneof(
      fc.constantFrom(
        'PUSH_ARTIFACT',
        'DELETE_ARTIFACT',
        'harbor.artifact.pushed',
        'harbor.artifact.deleted',
      ),
      fc.jsonValue(),
    );
    const defaultBody = fc.record(
      {
        type,
        occur_at: fc.oneof(fc.integer(), fc.double(), fc.jsonValue()),
        operator: fc.oneof(fc.string(), fc.jsonValue()),
        event_data: fc.oneof(data, fc.jsonValue()),
      },
      { requiredKeys: [] },
    );
    const cloudEvent = fc.record(
      {
        specversion: fc.oneof(fc.constant('1.0'), fc.jsonValue()),
        id: fc.oneof(fc.string(), fc.jsonValue()),
        type,
        time: fc.oneof(fc.constant('2023-03-06T06:08:43Z'), fc.string(), fc.jsonValue()),
        operator: fc.oneof(fc.string(), fc.jsonValue()),
        data: fc.oneof(data, fc.jsonValue()),
      },
      { requiredKeys: [] },
    );
    fc.assert(
      fc.property(fc.oneof(fc.jsonValue(), defaultBody, cloudEvent), (body) => {
        const result = harborParser.parse(body);
        expectNoCrash(result);
      }),
      { numRuns: 2000 },
    );
  });
});
