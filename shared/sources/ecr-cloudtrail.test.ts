import layersNotFound from '../../test/fixtures/ecr/cloudtrail-putimage-layers-not-found.json';
import putImageSuccess from '../../test/fixtures/ecr/cloudtrail-putimage-success.json';
import tagExists from '../../test/fixtures/ecr/cloudtrail-putimage-tag-exists.json';
import tagExistsNoTag from '../../test/fixtures/ecr/cloudtrail-putimage-tag-exists-no-tag.json';
import tagExistsWithDigest from '../../test/fixtures/ecr/cloudtrail-putimage-tag-exists-with-digest.json';
import { parsedItems } from '../../test/support/parsing';
import { ecrParser } from './ecr';

/**
 * Fixtures: the EventBridge envelope of "AWS API Call via CloudTrail" (EventBridge user guide, events
 * from AWS services via CloudTrail) around the CloudTrail record of a PutImage (Amazon ECR user guide,
 * "Logging Amazon ECR actions with AWS CloudTrail", image push example; CloudTrail record contents
 * for userIdentity, sourceIPAddress, userAgent, errorCode, errorMessage, recipientAccountId), with
 * the PutImage request fields of the ECR API reference and the error ImageTagAlreadyExistsException.
 */
const itemsOf = (body: unknown) => parsedItems(ecrParser, body);

const attempt = {
  id: '6f87d04b-9f74-4f04-a780-7acf4b0a9b38',
  action: 'attempt',
  registryHost: '123456789012.dkr.ecr.us-east-2.amazonaws.com',
  repository: 'payments/api',
  tag: '1.4.2',
  digest: null,
  mediaType: null,
  timestamp: '2026-11-22T10:00:00.000Z',
  actor: 'arn:aws:sts::123456789012:assumed-role/ci-deploy/ci-runner',
  origin: {
    sourceIp: '203.0.113.12',
    userAgent: 'docker/24.0.7 go/go1.20.10 git-commit/311b9ff kernel/6.1.0 os/linux arch/amd64',
  },
};

function withDetail(detail: Record<string, unknown>): unknown {
  return { ...tagExists, detail: { ...tagExists.detail, ...detail } };
}

function withRequest(request: Record<string, unknown>): unknown {
  return withDetail({ requestParameters: { ...tagExists.detail.requestParameters, ...request } });
}

describe('ECR parser: refused pushes from "AWS API Call via CloudTrail"', () => {
  it('reads a PutImage refused with ImageTagAlreadyExistsException as an attempt: who, from where, which tag', () => {
    expect(itemsOf(tagExists)).toEqual([{ kind: 'event', event: attempt }]);
  });

  it('carries the attempted digest and media type when the call names them (aws ecr put-image --image-digest)', () => {
    expect(itemsOf(tagExistsWithDigest)).toEqual([
      {
        kind: 'event',
        event: {
          ...attempt,
          id: '0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d',
          digest: `sha256:${'e'.repeat(64)}`,
          mediaType: 'application/vnd.docker.distribution.manifest.v2+json',
          actor: 'arn:aws:iam::123456789012:user/Mary_Major',
          origin: {
            sourceIp: '198.51.100.7',
            userAgent: 'aws-cli/2.15.0 Python/3.11.6 Linux/6.1.0 exe/x86_64.debian.12 command/ecr.put-image',
          },
        },
      },
    ]);
  });

  it('ignores a PutImage that succeeded: the ECR Image Action event reports that push', () => {
    expect(itemsOf(putImageSuccess)).toEqual([
      { kind: 'ignored', reason: 'a PutImage that succeeded (the ECR Image Action event reports it)' },
    ]);
  });

  it('ignores a PutImage that failed for another reason', () => {
    expect(itemsOf(layersNotFound)).toEqual([
      {
        kind: 'ignored',
        reason:
          'detail.errorCode "LayersNotFoundException" is not ImageTagAlreadyExistsException: not a refused overwrite',
      },
    ]);
  });

  it('ignores other ECR API calls and calls to other services', () => {
    expect(itemsOf(withDetail({ eventName: 'BatchDeleteImage' }))).toEqual([
      { kind: 'ignored', reason: 'detail.eventName "BatchDeleteImage" is not PutImage' },
    ]);
    expect(itemsOf(withDetail({ eventSource: 's3.amazonaws.com' }))).toEqual([
      { kind: 'ignored', reason: 'detail.eventSource "s3.amazonaws.com" is not ecr.amazonaws.com' },
    ]);
  });

  it('rejects a refused PutImage without imageTag, naming the field', () => {
    expect(itemsOf(tagExistsNoTag)).toEqual([
      { kind: 'rejected', reason: 'detail.requestParameters.imageTag is missing on a refused PutImage' },
    ]);
  });

  it('rejects malformed identifiers and missing request parameters, naming the wire field', () => {
    expect(itemsOf(withRequest({ imageTag: 'bad tag' }))).toEqual([
      { kind: 'rejected', reason: expect.stringMatching(/^detail\.requestParameters\.imageTag "bad tag"/) },
    ]);
    expect(itemsOf(withRequest({ imageDigest: 'sha256:abc' }))).toEqual([
      {
        kind: 'rejected',
        reason: expect.stringMatching(/^detail\.requestParameters\.imageDigest "sha256:abc"/),
      },
    ]);
    expect(itemsOf(withDetail({ requestParameters: null }))).toEqual([
      { kind: 'rejected', reason: expect.stringMatching(/^detail\.requestParameters: /) },
    ]);
    expect(itemsOf(withRequest({ registryId: 'acme' }))).toEqual([
      { kind: 'rejected', reason: 'account "acme" is not a 12-digit AWS account id' },
    ]);
  });

  it('rejects control characters in who or from where, never passing them to an alert', () => {
    expect(itemsOf(withDetail({ userAgent: 'docker\nALERT: all clear' }))).toEqual([
      { kind: 'rejected', reason: 'origin.userAgent contains control characters' },
    ]);
  });

  it('uses the registry the call names (registryId), in China regions too', () => {
    const [item] = itemsOf(
      withDetail({
        awsRegion: 'cn-north-1',
        requestParameters: { ...tagExists.detail.requestParameters, registryId: '210987654321' },
      }),
    );
    expect(item).toMatchObject({
      kind: 'event',
      event: { registryHost: '210987654321.dkr.ecr.cn-north-1.amazonaws.com.cn' },
    });
  });

  it('reads an attempt delivered through SQS like any other ECR event', () => {
    const body = { Records: [{ messageId: 'm-1', body: JSON.stringify(tagExists) }] };
    expect(itemsOf(body)).toEqual([{ kind: 'event', event: attempt }]);
  });
});
