import fc from 'fast-check';
import badBase64 from '../../test/fixtures/gar/bad-base64.json';
import invalidUtf8 from '../../test/fixtures/gar/base64-of-invalid-utf8.json';
import nonJson from '../../test/fixtures/gar/base64-of-non-json.json';
import tooDeep from '../../test/fixtures/gar/base64-too-deep.json';
import deleteDigestOnly from '../../test/fixtures/gar/delete-digest-only.json';
import deleteTagValid from '../../test/fixtures/gar/delete-tag-valid.json';
import docsDigestOnlyTruncated from '../../test/fixtures/gar/docs-sample-insert-digest-only-truncated-digest.json';
import docsTagTruncated from '../../test/fixtures/gar/docs-sample-insert-tag-truncated-digest.json';
import docsPubSubHello from '../../test/fixtures/gar/docs-sample-pubsub-push-hello-message.json';
import badPublishTime from '../../test/fixtures/gar/insert-bad-publish-time.json';
import controlCharacters from '../../test/fixtures/gar/insert-control-characters-tag.json';
import insertDigestOnly from '../../test/fixtures/gar/insert-digest-only.json';
import mismatchedHosts from '../../test/fixtures/gar/insert-mismatched-hosts.json';
import mismatchedRepositories from '../../test/fixtures/gar/insert-mismatched-repositories.json';
import pathTraversal from '../../test/fixtures/gar/insert-path-traversal.json';
import sha1Digest from '../../test/fixtures/gar/insert-sha1-digest.json';
import insertTagValid from '../../test/fixtures/gar/insert-tag-valid.json';
import uppercaseRepository from '../../test/fixtures/gar/insert-uppercase-repository.json';
import unknownAction from '../../test/fixtures/gar/unknown-action.json';
import { expectNoCrash, parsedItems } from '../../test/support/parsing';
import { garParser, MAX_GAR_DATA_BYTES } from './gar';

const D2 = 'sha256:6ec128e26cd5b0e4a5f2d1c3b7a9e8f6d4c2b0a1e3f5d7c9b8a6e4f2d0c1b3a5';
const IMAGE = 'us-east1-docker.pkg.dev/my-project/my-repo/hello-world';

const itemsOf = (body: unknown) => parsedItems(garParser, body);

/** A Pub/Sub push body around `data`, encoded as Pub/Sub does (base64 of the UTF-8 bytes). */
function pushOf(data: unknown, message: Record<string, unknown> = {}): unknown {
  const text = typeof data === 'string' ? data : JSON.stringify(data);
  const encoded = btoa(String.fromCharCode(...new TextEncoder().encode(text)));
  return {
    message: { data: encoded, messageId: '42', publishTime: '2024-06-01T08:15:30Z', ...message },
    subscription: 'projects/my-project/subscriptions/tagwarden-gcr',
  };
}

const insertEvent = {
  id: '11223344556677',
  action: 'push',
  registryHost: 'us-east1-docker.pkg.dev',
  repository: 'my-project/my-repo/hello-world',
  tag: '1.1',
  digest: D2,
  mediaType: null,
  timestamp: '2024-06-01T08:15:30.123456789Z',
  actor: null,
};

describe('gar parser', () => {
  it('is registered under the name "gar"', () => {
    expect(garParser.name).toBe('gar');
  });

  describe('the documentation samples', () => {
    it('rejects the Pub/Sub push sample because its data is plain text, not an Artifact Registry notification', () => {
      expect(itemsOf(docsPubSubHello)).toEqual([
        {
          kind: 'rejected',
          reason: expect.stringMatching(
            /^message\.data is not JSON \(decoded text starts "Hello Cloud Pub\/Sub!/,
          ),
        },
      ]);
    });

    it('rejects the tagged INSERT sample because its digest is truncated with "..."', () => {
      expect(itemsOf(docsTagTruncated)).toEqual([
        {
          kind: 'rejected',
          reason: expect.stringMatching(/^data\.digest "sha256:6ec128e26cd5\.\.\." is not a valid digest/),
        },
      ]);
    });

    it('rejects the digest-only INSERT sample for its truncated digest rather than ignoring it', () => {
      expect(itemsOf(docsDigestOnlyTruncated)).toEqual([
        {
          kind: 'rejected',
          reason: expect.stringMatching(/^data\.digest "sha256:6ec128e26cd5\.\.\." is not a valid digest/),
        },
      ]);
    });
  });

  it('turns a tagged INSERT into a push: host and path from the references, nanosecond publishTime, messageId as id', () => {
    expect(itemsOf(insertTagValid)).toEqual([{ kind: 'event', event: insertEvent }]);
  });

  it('turns a DELETE with a tag into a delete event carrying the tag and digest', () => {
    expect(itemsOf(deleteTagValid)).toEqual([
      {
        kind: 'event',
        event: {
          ...insertEvent,
          id: '11223344556678',
          action: 'delete',
          tag: '1.0',
          timestamp: '2024-06-01T09:00:00.000Z',
        },
      },
    ]);
  });

  it('accepts a DELETE that names only the tag, with no digest', () => {
    expect(itemsOf(pushOf({ action: 'DELETE', tag: `${IMAGE}:old` }))).toEqual([
      {
        kind: 'event',
        event: {
          ...insertEvent,
          id: '42',
          action: 'delete',
          tag: 'old',
          digest: null,
          timestamp: '2024-06-01T08:15:30.000Z',
        },
      },
    ]);
  });

  it('reads message_id and publish_time when the camel-case fields are absent', () => {
    const body = pushOf(
      { action: 'INSERT', digest: `${IMAGE}@${D2}`, tag: `${IMAGE}:1.1` },
      {
        messageId: undefined,
        publishTime: undefined,
        message_id: '77',
        publish_time: '2024-06-01T10:00:00+02:00',
      },
    );
    expect(itemsOf(body)).toEqual([
      { kind: 'event', event: { ...insertEvent, id: '77', timestamp: '2024-06-01T08:00:00.000Z' } },
    ]);
  });

  it('keeps a registry port in the host', () => {
    const image = 'registry.internal:5000/team/app';
    expect(itemsOf(pushOf({ action: 'INSERT', digest: `${image}@${D2}`, tag: `${image}:v2` }))).toEqual([
      {
        kind: 'event',
        event: expect.objectContaining({
          registryHost: 'registry.internal:5000',
          repository: 'team/app',
          tag: 'v2',
        }),
      },
    ]);
  });

  it('ignores a digest-only INSERT', () => {
    expect(itemsOf(insertDigestOnly)).toEqual([
      { kind: 'ignored', reason: 'digest-only INSERT (no data.tag) is not a tag event' },
    ]);
  });

  it('parses a DELETE without a tag as a delete by digest, and ignores it with that reason', () => {
    expect(itemsOf(deleteDigestOnly)).toEqual([
      {
        kind: 'ignored',
        reason: `manifest delete by digest ${D2} in ${IMAGE}: every tag serving it is gone; not a tag event, so it is recorded against the tags history says serve it`,
        digestDelete: {
          id: '9876543210005',
          registryHost: 'us-east1-docker.pkg.dev',
          repository: 'my-project/my-repo/hello-world',
          digest: D2,
          timestamp: '2024-06-01T08:15:30.123456789Z',
          actor: null,
        },
      },
    ]);
  });

  it('ignores an action other than INSERT or DELETE', () => {
    expect(itemsOf(unknownAction)).toEqual([
      { kind: 'ignored', reason: 'action "UPDATE" ignored: not INSERT or DELETE' },
    ]);
  });

  describe('hostile and broken messages', () => {
    it('rejects data that is not base64', () => {
      expect(itemsOf(badBase64)).toEqual([{ kind: 'rejected', reason: 'message.data is not valid base64' }]);
    });

    it('rejects base64 of something that is not JSON', () => {
      expect(itemsOf(nonJson)).toEqual([
        { kind: 'rejected', reason: expect.stringMatching(/^message\.data is not JSON/) },
      ]);
    });

    it('rejects base64 of bytes that are not UTF-8', () => {
      expect(itemsOf(invalidUtf8)).toEqual([{ kind: 'rejected', reason: 'message.data is not UTF-8 text' }]);
    });

    it('rejects decoded JSON nested deeper than 32 levels', () => {
      expect(itemsOf(tooDeep)).toEqual([
        { kind: 'rejected', reason: 'message.data JSON nests deeper than 32 levels' },
      ]);
    });

    it('rejects decoded data over 64 KiB without parsing it', () => {
      const big = { action: 'INSERT', digest: `${IMAGE}@${D2}`, padding: 'x'.repeat(MAX_GAR_DATA_BYTES) };
      expect(itemsOf(pushOf(big))).toEqual([
        { kind: 'rejected', reason: `message.data decodes to more than ${MAX_GAR_DATA_BYTES} bytes` },
      ]);
    });

    it('rejects decoded JSON that is not an object', () => {
      expect(itemsOf(pushOf([1, 2]))).toEqual([
        { kind: 'rejected', reason: 'message.data is JSON but not an object' },
      ]);
    });

    it('rejects a message without data', () => {
      expect(itemsOf({ message: { messageId: '1', publishTime: '2024-06-01T08:15:30Z' } })).toEqual([
        { kind: 'rejected', reason: expect.stringMatching(/^message\.data is missing/) },
      ]);
    });

    it('rejects tag and digest references that name different hosts', () => {
      expect(itemsOf(mismatchedHosts)).toEqual([
        {
          kind: 'rejected',
          reason: expect.stringMatching(
            /^data\.tag "europe-west1-docker\.pkg\.dev\/.*" and data\.digest ".*" name different repositories$/,
          ),
        },
      ]);
    });

    it('rejects tag and digest references that name different repositories', () => {
      expect(itemsOf(mismatchedRepositories)).toEqual([
        { kind: 'rejected', reason: expect.stringMatching(/name different repositories$/) },
      ]);
    });

    it('rejects an upper-case repository', () => {
      expect(itemsOf(uppercaseRepository)).toEqual([
        {
          kind: 'rejected',
          reason: expect.stringMatching(
            /^data\.digest repository "my-project\/My-Repo\/Hello" is not a valid repository name/,
          ),
        },
      ]);
    });

    it('rejects a path-traversal repository', () => {
      expect(itemsOf(pathTraversal)).toEqual([
        {
          kind: 'rejected',
          reason: expect.stringMatching(
            /^data\.digest repository "my-project\/\.\.\/\.\.\/etc" is not a valid repository name/,
          ),
        },
      ]);
    });

    it('rejects a tag with control characters and shows them escaped', () => {
      expect(itemsOf(controlCharacters)).toEqual([
        { kind: 'rejected', reason: expect.stringMatching(/^data\.tag "v1\\u0007\\n" is not a valid tag/) },
      ]);
    });

    it('rejects a non-ASCII tag', () => {
      expect(itemsOf(pushOf({ action: 'INSERT', digest: `${IMAGE}@${D2}`, tag: `${IMAGE}:latést` }))).toEqual(
        [{ kind: 'rejected', reason: expect.stringMatching(/^data\.tag "latést" is not a valid tag/) }],
      );
    });

    it('rejects a sha1 digest', () => {
      expect(itemsOf(sha1Digest)).toEqual([
        {
          kind: 'rejected',
          reason: expect.stringMatching(/^data\.digest "sha1:[0-9a-f]{40}" is not a valid digest/),
        },
      ]);
    });

    it('rejects a digest reference without @digest', () => {
      expect(itemsOf(pushOf({ action: 'INSERT', digest: `${IMAGE}:1.1` }))).toEqual([
        { kind: 'rejected', reason: expect.stringMatching(/^data\.digest ".*" has no @digest$/) },
      ]);
    });

    it('rejects a tag reference that ends in ":" or carries a digest', () => {
      for (const tag of [`${IMAGE}:`, `${IMAGE}:1.1@${D2}`]) {
        expect(itemsOf(pushOf({ action: 'INSERT', digest: `${IMAGE}@${D2}`, tag }))).toEqual([
          {
            kind: 'rejected',
            reason: expect.stringMatching(/is not a <host>\/<repository>:<tag> reference$/),
          },
        ]);
      }
    });

    it('rejects an INSERT without a digest', () => {
      expect(itemsOf(pushOf({ action: 'INSERT', tag: `${IMAGE}:1.1` }))).toEqual([
        { kind: 'rejected', reason: 'data.digest is missing on an INSERT' },
      ]);
    });

    it('refuses, whole, a publishTime naming a day that does not exist (the Pub/Sub envelope is wrong)', () => {
      expect(garParser.parse(badPublishTime)).toEqual({
        ok: false,
        reason:
          'not a Pub/Sub push message: message.publishTime "2024-02-30T10:00:00Z" is not an RFC 3339 time',
      });
    });

    it('refuses, whole, a message without a message id', () => {
      const body = pushOf(
        { action: 'INSERT', digest: `${IMAGE}@${D2}`, tag: `${IMAGE}:1.1` },
        { messageId: undefined },
      );
      expect(garParser.parse(body)).toEqual({
        ok: false,
        reason: expect.stringMatching(/^not a Pub\/Sub push message: message\.messageId is missing/),
      });
    });

    // Before, the envelope was read only for a message that would become an event: the same broken
    // envelope was "ignored" around a digest-only INSERT and "rejected" around a tagged one.
    it.each([
      ['a digest-only INSERT', { action: 'INSERT', digest: `${IMAGE}@${D2}` }],
      ['an unknown action', { action: 'UPDATE', digest: `${IMAGE}@${D2}` }],
      ['a tagged INSERT', { action: 'INSERT', digest: `${IMAGE}@${D2}`, tag: `${IMAGE}:1.1` }],
      ['a message whose data is no notification', { hello: 'world' }],
    ])('refuses a broken envelope the same way whatever the message says: %s', (_what, data) => {
      for (const broken of [{ messageId: undefined }, { publishTime: undefined }, { publishTime: 'soon' }]) {
        expect(garParser.parse(pushOf(data, broken))).toEqual({
          ok: false,
          reason: expect.stringMatching(/^not a Pub\/Sub push message: message\.(messageId|publishTime)/),
        });
      }
    });

    it('rejects a notification whose action is not a string, naming the field', () => {
      expect(itemsOf(pushOf({ action: 1 }))).toEqual([
        {
          kind: 'rejected',
          reason: expect.stringMatching(/^message\.data is not an Artifact Registry notification: action: /),
        },
      ]);
    });
  });

  it.each([
    ['null', null],
    ['an array', []],
    ['an object without message', { subscription: 'projects/p/subscriptions/s' }],
    ['a message that is not an object', { message: 'hello' }],
    ['a message whose data is not a string', { message: { data: 42 } }],
  ])('refuses %s as a whole body', (_name, body) => {
    expect(garParser.parse(body)).toEqual({
      ok: false,
      reason: expect.stringMatching(/^not a Pub\/Sub push message/),
    });
  });

  it('never throws, whatever JSON it is given', () => {
    const reference = fc.oneof(
      fc.constantFrom(`${IMAGE}@${D2}`, `${IMAGE}:1.1`, `${IMAGE}:`, 'a@b:c', '@', ':', '/'),
      fc.string(),
    );
    const notification = fc.record(
      {
        action: fc.oneof(fc.constantFrom('INSERT', 'DELETE'), fc.jsonValue()),
        digest: fc.oneof(reference, fc.jsonValue()),
        tag: fc.oneof(reference, fc.jsonValue()),
      },
      { requiredKeys: [] },
    );
    const encoded = fc.oneof(
      notification.map((n) => btoa(String.fromCharCode(...new TextEncoder().encode(JSON.stringify(n))))),
      fc.string(),
      fc.base64String(),
    );
    const nearPush = fc.record(
      {
        message: fc.oneof(
          fc.record(
            {
              data: fc.oneof(encoded, fc.jsonValue()),
              messageId: fc.oneof(fc.string(), fc.jsonValue()),
              publishTime: fc.oneof(fc.constant('2024-06-01T08:15:30Z'), fc.string(), fc.jsonValue()),
            },
            { requiredKeys: [] },
          ),
          fc.jsonValue(),
        ),
        subscription: fc.string(),
      },
      { requiredKeys: [] },
    );
    fc.assert(
      fc.property(fc.oneof(fc.jsonValue(), nearPush), (body) => {
        const result = garParser.parse(body);
        expectNoCrash(result);
      }),
      { numRuns: 2000 },
    );
  });
});
