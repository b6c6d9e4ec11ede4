import fc from 'fast-check';
import docsFragmentDeleteTarget from '../../test/fixtures/distribution/docs-fragment-delete-target.json';
import docsFullEvent65hex from '../../test/fixtures/distribution/docs-sample-full-event-65hex.json';
import docsPull from '../../test/fixtures/distribution/docs-sample-pull.json';
import hostileBatch from '../../test/fixtures/distribution/hostile-batch.json';
import mixedEnvelope from '../../test/fixtures/distribution/mixed-envelope.json';
import pushHostFromUrl from '../../test/fixtures/distribution/push-host-from-url.json';
import { expectNoCrash, parsedItems } from '../../test/support/parsing';
import { distributionParser } from './distribution';

const D64C = 'sha256:d89e1bee20d9cb344674e213b581f14fbd8e70274ecf9d10c514bab78a307845';

const itemsOf = (body: unknown) => parsedItems(distributionParser, body);

const taggedPush = {
  id: '0f9e4c1a-6b2d-4e8f-a1c3-5d7e9f0b2c4d',
  action: 'push',
  registryHost: 'registry.example.com:5000',
  repository: 'payments/api',
  tag: 'v1.4.0',
  digest: D64C,
  mediaType: 'application/vnd.oci.image.manifest.v1+json',
  timestamp: '2024-06-01T08:15:30.123456789Z',
  actor: 'ci-bot',
};

describe('distribution parser', () => {
  it('is registered under the name "distribution"', () => {
    expect(distributionParser.name).toBe('distribution');
  });

  describe('the documentation samples', () => {
    it('ignores the manifest pull sample because a pull does not change a tag', () => {
      const [item] = itemsOf(docsPull);
      expect(item).toEqual({
        kind: 'ignored',
        reason: expect.stringMatching(/^events\[0\]: action "pull" ignored/),
      });
    });

    it('rejects the "full event" sample\'s layer pushes because their digest has 65 hex digits', () => {
      const items = itemsOf(docsFullEvent65hex);
      expect(items).toHaveLength(3);
      expect(items[1]).toEqual({
        kind: 'rejected',
        reason: expect.stringMatching(
          /^events\[1\]: target\.digest "sha256:c3b3[0-9a-f]+" is not a valid digest/,
        ),
      });
      expect(items[2]).toEqual({
        kind: 'rejected',
        reason: expect.stringMatching(/^events\[2\]: target\.digest .* is not a valid digest/),
      });
    });

    it('ignores the "full event" sample\'s manifest push because it carries no tag', () => {
      const [first] = itemsOf(docsFullEvent65hex);
      expect(first).toEqual({
        kind: 'ignored',
        reason: expect.stringMatching(/^events\[0\]: digest-only manifest push \(no target\.tag\)/),
      });
    });

    it('refuses the delete-target fragment from the docs as a whole body because it has no events array', () => {
      const result = distributionParser.parse(docsFragmentDeleteTarget);
      expect(result).toEqual({
        ok: false,
        reason: expect.stringMatching(/not a distribution notification envelope: events is missing/),
      });
    });
  });

  describe('a mixed envelope', () => {
    const items = itemsOf(mixedEnvelope);

    it('turns a tagged manifest push into a push event with a lower-cased host, UTC nanosecond time and the actor', () => {
      expect(items[0]).toEqual({ kind: 'event', event: taggedPush });
    });

    it('ignores a layer push because a blob is not a tag', () => {
      expect(items[1]).toEqual({
        kind: 'ignored',
        reason: expect.stringMatching(/^events\[1\]: blob\/layer push .*layer\.v1\.tar\+gzip/),
      });
    });

    it('ignores a pull', () => {
      expect(items[2]).toEqual({
        kind: 'ignored',
        reason: expect.stringMatching(/^events\[2\]: action "pull" ignored/),
      });
    });

    it('turns a tag delete into a delete event with no digest and no media type', () => {
      expect(items[3]).toEqual({
        kind: 'event',
        event: {
          id: '1a2b3c4d-0000-4000-8000-000000000004',
          action: 'delete',
          registryHost: 'registry.example.com:5000',
          repository: 'payments/api',
          tag: 'v1.3.9',
          digest: null,
          mediaType: null,
          timestamp: '2024-06-01T08:20:00.500Z',
          actor: 'alice',
        },
      });
    });

    it('parses a manifest delete (a digest, no tag) and ignores it, saying what it means', () => {
      expect(items[4]).toEqual({
        kind: 'ignored',
        reason: expect.stringMatching(
          /^events\[4\]: manifest delete by digest sha256:d89e1bee[0-9a-f]{56} in registry\.example\.com:5000\/payments\/api: every tag serving it is gone/,
        ),
        digestDelete: {
          id: '1a2b3c4d-0000-4000-8000-000000000005',
          registryHost: 'registry.example.com:5000',
          repository: 'payments/api',
          digest: 'sha256:d89e1bee20d9cb344674e213b581f14fbd8e70274ecf9d10c514bab78a307845',
          timestamp: '2024-06-01T08:21:00.000Z',
          actor: 'alice',
        },
      });
    });

    it('ignores a blob mount', () => {
      expect(items[5]).toEqual({
        kind: 'ignored',
        reason: expect.stringMatching(/^events\[5\]: action "mount" ignored/),
      });
    });

    it('ignores a digest-only manifest push (a platform child of a multi-arch push)', () => {
      expect(items[6]).toEqual({
        kind: 'ignored',
        reason: expect.stringMatching(/^events\[6\]: digest-only manifest push/),
      });
    });
  });

  it('takes the host from target.url when the request record is absent, and makes an empty actor null', () => {
    expect(itemsOf(pushHostFromUrl)).toEqual([
      {
        kind: 'event',
        event: {
          ...taggedPush,
          id: '9c8b7a6d-0000-4000-8000-000000000010',
          timestamp: '2024-06-01T08:15:30.000Z',
          actor: null,
        },
      },
    ]);
  });

  it('rejects an event with neither request.host nor target.url', () => {
    const event = {
      ...mixedEnvelope.events[0],
      request: undefined,
      target: { ...mixedEnvelope.events[0]!.target, url: undefined },
    };
    expect(itemsOf({ events: [event] })).toEqual([
      {
        kind: 'rejected',
        reason: 'events[0]: registry host is missing (no request.host and no host in target.url)',
      },
    ]);
  });

  it('ignores a repository delete, which names neither tag nor digest', () => {
    const event = {
      id: 'x1',
      timestamp: '2024-06-01T08:00:00Z',
      action: 'delete',
      target: { repository: 'payments/api' },
    };
    expect(itemsOf({ events: [event] })).toEqual([
      { kind: 'ignored', reason: expect.stringMatching(/repository delete/) },
    ]);
  });

  describe('a hostile batch', () => {
    const items = itemsOf(hostileBatch);

    it('keeps the good events although the others in the batch are bad', () => {
      expect(items).toHaveLength(13);
      expect(items[0]).toEqual({ kind: 'event', event: taggedPush });
    });

    it('rejects a path-traversal repository "../etc"', () => {
      expect(items[1]).toEqual({
        kind: 'rejected',
        reason: expect.stringMatching(
          /^events\[1\]: target\.repository "\.\.\/etc" is not a valid repository name/,
        ),
      });
    });

    it('rejects an upper-case repository', () => {
      expect(items[2]).toEqual({
        kind: 'rejected',
        reason: expect.stringMatching(/^events\[2\]: target\.repository "Payments\/API"/),
      });
    });

    it('rejects a non-ASCII tag', () => {
      expect(items[3]).toEqual({
        kind: 'rejected',
        reason: expect.stringMatching(/^events\[3\]: target\.tag "latést" is not a valid tag/),
      });
    });

    it('rejects a tag with control characters and shows them escaped', () => {
      expect(items[4]).toEqual({
        kind: 'rejected',
        reason: expect.stringMatching(/^events\[4\]: target\.tag "v1\\u0000\\n" is not a valid tag/),
      });
    });

    it('accepts a sha512 digest', () => {
      expect(items[5]).toEqual({
        kind: 'event',
        event: {
          ...taggedPush,
          id: 'hostile-4-sha512-valid',
          digest: `sha512:${'0123456789abcdef'.repeat(8)}`,
        },
      });
    });

    it('rejects a sha1 digest', () => {
      expect(items[6]).toEqual({
        kind: 'rejected',
        reason: expect.stringMatching(
          /^events\[6\]: target\.digest "sha1:[0-9a-f]{40}" is not a valid digest/,
        ),
      });
    });

    it('rejects a tag longer than 128 characters', () => {
      expect(items[7]).toEqual({
        kind: 'rejected',
        reason: expect.stringMatching(/^events\[7\]: target\.tag "v1{76}\.\.\." is not a valid tag/),
      });
    });

    it('rejects an unparseable timestamp', () => {
      expect(items[8]).toEqual({
        kind: 'rejected',
        reason: 'events[8]: timestamp "2024-06-01 sometime" is not an RFC 3339 time',
      });
    });

    it('rejects an item that is not an object', () => {
      expect(items[9]).toEqual({ kind: 'rejected', reason: 'events[9]: is not an object' });
    });

    it('rejects a push without a target', () => {
      expect(items[10]).toEqual({ kind: 'rejected', reason: 'events[10]: target is missing' });
    });

    it('rejects an event without an action', () => {
      expect(items[11]).toEqual({ kind: 'rejected', reason: 'events[11]: action is missing' });
    });

    it('rejects an actor with control characters', () => {
      expect(items[12]).toEqual({
        kind: 'rejected',
        reason: 'events[12]: actor contains control characters',
      });
    });
  });

  it('rejects a push whose target.digest is not a string, naming the field', () => {
    const event = { ...mixedEnvelope.events[0], target: { ...mixedEnvelope.events[0]!.target, digest: 42 } };
    expect(itemsOf({ events: [event] })).toEqual([
      { kind: 'rejected', reason: expect.stringMatching(/^events\[0\]: target\.digest: /) },
    ]);
  });

  it('accepts an empty envelope as understood with no items', () => {
    expect(distributionParser.parse({ events: [] })).toEqual({ ok: true, items: [] });
  });

  it.each([
    ['null', null],
    ['a string', 'events'],
    ['an array', []],
    ['an object without events', { event: [] }],
    ['events that are not an array', { events: {} }],
  ])('refuses %s as a whole body', (_name, body) => {
    expect(distributionParser.parse(body)).toEqual({
      ok: false,
      reason: expect.stringMatching(/not a distribution notification envelope/),
    });
  });

  it('never throws, whatever JSON it is given', () => {
    const nearEnvelope = fc.record({
      events: fc.array(
        fc.record(
          {
            id: fc.oneof(fc.string(), fc.jsonValue()),
            timestamp: fc.oneof(fc.string(), fc.constant('2024-06-01T08:15:30Z'), fc.jsonValue()),
            action: fc.oneof(fc.constantFrom('push', 'delete', 'pull', 'mount'), fc.jsonValue()),
            target: fc.oneof(
              fc.record(
                {
                  digest: fc.oneof(fc.string(), fc.constant(D64C)),
                  tag: fc.string(),
                  repository: fc.string(),
                  url: fc.string(),
                  mediaType: fc.string(),
                },
                { requiredKeys: [] },
              ),
              fc.jsonValue(),
            ),
            request: fc.oneof(fc.record({ host: fc.string() }), fc.jsonValue()),
            actor: fc.oneof(fc.record({ name: fc.string() }), fc.jsonValue()),
          },
          { requiredKeys: [] },
        ),
      ),
    });
    fc.assert(
      fc.property(fc.oneof(fc.jsonValue(), nearEnvelope), (body) => {
        const result = distributionParser.parse(body);
        expectNoCrash(result);
      }),
      { numRuns: 2000 },
    );
  });
});
