import fc from 'fast-check';
import arrayPushAndScan from '../../test/fixtures/ecr/array-push-and-scan.json';
import deleteValid from '../../test/fixtures/ecr/delete-valid.json';
import docsDelete60hex from '../../test/fixtures/ecr/docs-sample-delete-60hex.json';
import docsImageScan from '../../test/fixtures/ecr/docs-sample-image-scan.json';
import docsPush60hex from '../../test/fixtures/ecr/docs-sample-push-60hex.json';
import hostileArray from '../../test/fixtures/ecr/hostile-array.json';
import pushBadTime from '../../test/fixtures/ecr/push-bad-time.json';
import pushChinaRegion from '../../test/fixtures/ecr/push-china-region.json';
import pushDigestOnly from '../../test/fixtures/ecr/push-digest-only.json';
import pushFailed from '../../test/fixtures/ecr/push-failed.json';
import pushValid from '../../test/fixtures/ecr/push-valid.json';
import pushValidWithMediaType from '../../test/fixtures/ecr/push-valid-with-media-type.json';
import sqsBatch from '../../test/fixtures/ecr/sqs-batch-good-bad-unparseable.json';
import sqsTooDeep from '../../test/fixtures/ecr/sqs-record-too-deep.json';
import { expectNoCrash, parsedItems } from '../../test/support/parsing';
import { ecrParser, MAX_SQS_BODY_BYTES } from './ecr';

const DIGEST = 'sha256:7f5b2640fe6fb4f46592dfd3410c4a79dac4f89e4782432e0378abcd12345678';

const itemsOf = (body: unknown) => parsedItems(ecrParser, body);

const validPush = {
  id: '13cde686-328b-6117-af20-0e5566167482',
  action: 'push',
  registryHost: '123456789012.dkr.ecr.us-west-2.amazonaws.com',
  repository: 'my-repository-name',
  tag: 'latest',
  digest: DIGEST,
  mediaType: null,
  timestamp: '2019-11-16T01:54:34.000Z',
  actor: null,
};

function withDetail(detail: Record<string, unknown>): unknown {
  return { ...pushValid, detail: { ...pushValid.detail, ...detail } };
}

describe('ECR parser', () => {
  it('is registered under the name "ecr"', () => {
    expect(ecrParser.name).toBe('ecr');
  });

  describe('the documentation samples', () => {
    it("rejects AWS's own push sample because its digest has 60 hex digits", () => {
      expect(itemsOf(docsPush60hex)).toEqual([
        {
          kind: 'rejected',
          reason: expect.stringMatching(
            /^detail\.image-digest "sha256:7f5b[0-9a-f]{56}" is not a valid digest/,
          ),
        },
      ]);
    });

    it("rejects AWS's own delete sample for the same 60-digit digest", () => {
      expect(itemsOf(docsDelete60hex)).toEqual([
        { kind: 'rejected', reason: expect.stringMatching(/^detail\.image-digest .* is not a valid digest/) },
      ]);
    });

    it('ignores the image scan sample because its detail-type is not "ECR Image Action"', () => {
      expect(itemsOf(docsImageScan)).toEqual([
        { kind: 'ignored', reason: 'detail-type "ECR Image Scan" is not "ECR Image Action"' },
      ]);
    });
  });

  it('turns the push sample, corrected to a 64-hex digest, into a push event', () => {
    expect(itemsOf(pushValid)).toEqual([{ kind: 'event', event: validPush }]);
  });

  it('takes the media type from manifest-media-type and normalizes an offset nanosecond time to UTC', () => {
    expect(itemsOf(pushValidWithMediaType)).toEqual([
      {
        kind: 'event',
        event: {
          ...validPush,
          id: '4f3c2a1b-0000-4c1d-9e8f-112233445566',
          mediaType: 'application/vnd.oci.image.manifest.v1+json',
          timestamp: '2024-05-01T10:00:00.123456789Z',
        },
      },
    ]);
  });

  it('builds a .amazonaws.com.cn host for a China region', () => {
    expect(itemsOf(pushChinaRegion)).toEqual([
      {
        kind: 'event',
        event: {
          ...validPush,
          id: '7a9e3c44-1f0b-4b7e-8d55-0c2e6b9f1a10',
          registryHost: '210987654321.dkr.ecr.cn-north-1.amazonaws.com.cn',
          repository: 'team/service',
          tag: 'v2.3.1',
        },
      },
    ]);
  });

  it('turns the delete sample, corrected to a 64-hex digest, into a delete event', () => {
    expect(itemsOf(deleteValid)).toEqual([
      {
        kind: 'event',
        event: {
          ...validPush,
          id: 'dd3b46cb-2c74-f49e-393b-28286b67279d',
          action: 'delete',
          timestamp: '2019-11-16T02:01:05.000Z',
        },
      },
    ]);
  });

  it('ignores a push without an image-tag as a digest-only push', () => {
    expect(itemsOf(pushDigestOnly)).toEqual([
      {
        kind: 'ignored',
        reason: expect.stringMatching(
          /digest-only push, not a tag event|digest-only push \(no detail\.image-tag\)/,
        ),
      },
    ]);
  });

  it('reads a delete without an image-tag as a delete by digest, to be recorded against the tags serving it', () => {
    const { 'image-tag': _tag, ...detail } = deleteValid.detail;
    expect(itemsOf({ ...deleteValid, detail })).toEqual([
      {
        kind: 'ignored',
        reason: expect.stringMatching(/^manifest delete by digest sha256:/),
        digestDelete: {
          id: 'dd3b46cb-2c74-f49e-393b-28286b67279d',
          registryHost: validPush.registryHost,
          repository: validPush.repository,
          digest: validPush.digest,
          timestamp: '2019-11-16T02:01:05.000Z',
          actor: null,
        },
      },
    ]);
  });

  it('ignores a delete that names neither a tag nor a digest', () => {
    const { 'image-tag': _tag, 'image-digest': _digest, ...detail } = deleteValid.detail;
    expect(itemsOf({ ...deleteValid, detail })).toEqual([
      { kind: 'ignored', reason: 'delete without detail.image-tag or detail.image-digest names no image' },
    ]);
  });

  it('rejects a delete by digest from a region that is not one', () => {
    const { 'image-tag': _tag, ...detail } = deleteValid.detail;
    expect(itemsOf({ ...deleteValid, region: 'not a region', detail })).toEqual([
      { kind: 'rejected', reason: expect.stringMatching(/region/) },
    ]);
  });

  it('ignores a failed push', () => {
    expect(itemsOf(pushFailed)).toEqual([
      { kind: 'ignored', reason: 'detail.result "FAILURE" is not SUCCESS' },
    ]);
  });

  it('ignores an action-type other than PUSH or DELETE', () => {
    expect(itemsOf(withDetail({ 'action-type': 'REPLICATE' }))).toEqual([
      { kind: 'ignored', reason: 'detail.action-type "REPLICATE" is not PUSH or DELETE' },
    ]);
  });

  it('ignores an event from a source other than aws.ecr', () => {
    expect(itemsOf({ ...pushValid, source: 'custom.ecr' })).toEqual([
      { kind: 'ignored', reason: 'source "custom.ecr" is not aws.ecr' },
    ]);
  });

  it('rejects an unparseable time', () => {
    expect(itemsOf(pushBadTime)).toEqual([
      { kind: 'rejected', reason: 'time "Sat, 16 Nov 2019 01:54:34 GMT" is not an RFC 3339 time' },
    ]);
  });

  it('rejects a PUSH whose image-digest is missing', () => {
    const { 'image-digest': _digest, ...detail } = pushValid.detail;
    expect(itemsOf({ ...pushValid, detail })).toEqual([
      { kind: 'rejected', reason: 'detail.image-digest is missing on a PUSH' },
    ]);
  });

  it('rejects an event without repository-name, naming the field', () => {
    const { 'repository-name': _name, ...detail } = pushValid.detail;
    expect(itemsOf({ ...pushValid, detail })).toEqual([
      { kind: 'rejected', reason: 'detail.repository-name is missing' },
    ]);
  });

  it('rejects a region that is not an AWS region name', () => {
    expect(itemsOf({ ...pushValid, region: 'us-west-2.evil.example' })).toEqual([
      { kind: 'rejected', reason: 'region "us-west-2.evil.example" is not an AWS region name' },
    ]);
  });

  it('judges each event of a JSON array on its own', () => {
    expect(itemsOf(arrayPushAndScan)).toEqual([
      { kind: 'event', event: validPush },
      { kind: 'ignored', reason: '[1]: detail-type "ECR Image Scan" is not "ECR Image Action"' },
    ]);
  });

  describe('hostile events', () => {
    const items = itemsOf(hostileArray);

    it('rejects a path-traversal repository "../etc"', () => {
      expect(items[0]).toEqual({
        kind: 'rejected',
        reason: expect.stringMatching(
          /^\[0\]: detail\.repository-name "\.\.\/etc" is not a valid repository name/,
        ),
      });
    });

    it('rejects an upper-case repository', () => {
      expect(items[1]).toEqual({
        kind: 'rejected',
        reason: expect.stringMatching(/^\[1\]: detail\.repository-name "Payments\/API"/),
      });
    });

    it('rejects a non-ASCII tag', () => {
      expect(items[2]).toEqual({
        kind: 'rejected',
        reason: expect.stringMatching(/^\[2\]: detail\.image-tag "latést" is not a valid tag/),
      });
    });

    it('rejects a tag with control characters', () => {
      expect(items[3]).toEqual({
        kind: 'rejected',
        reason: expect.stringMatching(/^\[3\]: detail\.image-tag "v1\\u0000\\n"/),
      });
    });

    it('accepts a sha512 digest', () => {
      expect(items[4]).toEqual({
        kind: 'event',
        event: {
          ...validPush,
          id: 'hostile-4-sha512-valid',
          digest: `sha512:${'0123456789abcdef'.repeat(8)}`,
        },
      });
    });

    it('rejects a sha1 digest', () => {
      expect(items[5]).toEqual({
        kind: 'rejected',
        reason: expect.stringMatching(/^\[5\]: detail\.image-digest "sha1:/),
      });
    });

    it('rejects a tag longer than 128 characters', () => {
      expect(items[6]).toEqual({
        kind: 'rejected',
        reason: expect.stringMatching(/^\[6\]: detail\.image-tag "v1+\.\.\." is not a valid tag/),
      });
    });

    it('rejects an account that would smuggle a host name into the registry host', () => {
      expect(items[7]).toEqual({
        kind: 'rejected',
        reason: '[7]: account "evil.example.com/x" is not a 12-digit AWS account id',
      });
    });
  });

  describe('SQS batches', () => {
    const items = itemsOf(sqsBatch);

    it('accepts the good record although the others in the batch are bad', () => {
      expect(items[0]).toEqual({ kind: 'event', event: validPush });
    });

    it("rejects the record carrying AWS's 60-digit sample digest, naming the record", () => {
      expect(items[1]).toEqual({
        kind: 'rejected',
        reason: expect.stringMatching(
          /^Records\[1\]: body: detail\.image-digest "sha256:7f5b[0-9a-f]{56}" is not a valid digest/,
        ),
      });
    });

    it('rejects the record whose body is not valid JSON', () => {
      expect(items[2]).toEqual({
        kind: 'rejected',
        reason: expect.stringMatching(/^Records\[2\]: body is not valid JSON/),
      });
    });

    it('rejects a record whose body nests deeper than 32 levels', () => {
      expect(itemsOf(sqsTooDeep)).toEqual([
        { kind: 'rejected', reason: 'Records[0]: body JSON nests deeper than 32 levels' },
      ]);
    });

    it('rejects a record whose body is over 256 KiB', () => {
      const body = JSON.stringify({ ...pushValid, padding: 'x'.repeat(MAX_SQS_BODY_BYTES) });
      expect(itemsOf({ Records: [{ messageId: 'm1', body }] })).toEqual([
        { kind: 'rejected', reason: 'Records[0]: body is larger than 262144 bytes, the SQS message limit' },
      ]);
    });

    it('counts the 256 KiB limit in UTF-8 bytes, not characters', () => {
      const body = JSON.stringify({ ...pushValid, padding: 'é'.repeat(MAX_SQS_BODY_BYTES / 2) });
      expect(body.length).toBeLessThan(MAX_SQS_BODY_BYTES);
      expect(itemsOf({ Records: [{ body }] })).toEqual([
        { kind: 'rejected', reason: expect.stringMatching(/larger than 262144 bytes/) },
      ]);
    });

    it('rejects a record without a body string', () => {
      expect(itemsOf({ Records: [{ messageId: 'm1' }, 'nope'] })).toEqual([
        { kind: 'rejected', reason: 'Records[0]: body is missing' },
        { kind: 'rejected', reason: 'Records[1]: is not an object' },
      ]);
    });

    it('rejects a record whose body is JSON but not an object', () => {
      expect(itemsOf({ Records: [{ body: '[1,2]' }] })).toEqual([
        { kind: 'rejected', reason: 'Records[0]: body: is not an EventBridge event object' },
      ]);
    });
  });

  it.each([
    ['null', null],
    ['a number', 7],
    ['an object that is neither EventBridge nor SQS', { hello: 'world' }],
    ['Records that are not an array', { Records: 'x' }],
  ])('refuses %s as a whole body', (_name, body) => {
    expect(ecrParser.parse(body)).toEqual({
      ok: false,
      reason: expect.stringMatching(/^not an (EventBridge|SQS) event/),
    });
  });

  it('never throws, whatever JSON it is given', () => {
    const nearEvent = fc.record(
      {
        id: fc.oneof(fc.string(), fc.jsonValue()),
        'detail-type': fc.oneof(fc.constant('ECR Image Action'), fc.jsonValue()),
        source: fc.oneof(fc.constant('aws.ecr'), fc.jsonValue()),
        account: fc.oneof(fc.constant('123456789012'), fc.string()),
        region: fc.oneof(fc.constantFrom('us-west-2', 'cn-north-1'), fc.string()),
        time: fc.oneof(fc.constant('2019-11-16T01:54:34Z'), fc.string()),
        detail: fc.oneof(
          fc.record(
            {
              result: fc.oneof(fc.constant('SUCCESS'), fc.jsonValue()),
              'action-type': fc.oneof(fc.constantFrom('PUSH', 'DELETE'), fc.jsonValue()),
              'repository-name': fc.oneof(fc.constant('a/b'), fc.string()),
              'image-tag': fc.string(),
              'image-digest': fc.oneof(fc.constant(DIGEST), fc.string()),
            },
            { requiredKeys: [] },
          ),
          fc.jsonValue(),
        ),
      },
      { requiredKeys: [] },
    );
    const sqs = fc.record({
      Records: fc.array(
        fc.record(
          {
            body: fc.oneof(
              nearEvent.map((e) => JSON.stringify(e)),
              fc.string(),
            ),
          },
          { requiredKeys: [] },
        ),
      ),
    });
    fc.assert(
      fc.property(fc.oneof(fc.jsonValue(), nearEvent, fc.array(nearEvent), sqs), (body) => {
        const result = ecrParser.parse(body);
        expectNoCrash(result);
      }),
      { numRuns: 2000 },
    );
  });
});
