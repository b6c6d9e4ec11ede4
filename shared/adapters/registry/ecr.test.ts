import { createHash } from 'node:crypto';
import {
  BatchGetImageCommand,
  ECRClient,
  ImageAlreadyExistsException,
  ImageTagAlreadyExistsException,
  ListTagsForResourceCommand,
  PutImageCommand,
  PutImageTagMutabilityCommand,
} from '@aws-sdk/client-ecr';
import { mockClient } from 'aws-sdk-client-mock';
import { PermanentError, TransientError } from '../../core';
import { EcrRegistry, ownersFromRepositoryTags } from './ecr';

const ecr = mockClient(ECRClient);
const client = new ECRClient({
  region: 'us-east-1',
  credentials: { accessKeyId: 'x', secretAccessKey: 'x' },
});
const manifestText = JSON.stringify({
  schemaVersion: 2,
  mediaType: 'application/vnd.oci.image.manifest.v1+json',
  layers: [],
});
const DIGEST = `sha256:${createHash('sha256').update(manifestText).digest('hex')}`;
const MEDIA = 'application/vnd.oci.image.manifest.v1+json';
const awsError = (name: string, status: number) =>
  Object.assign(new Error(name), { name, $metadata: { httpStatusCode: status } });

beforeEach(() => ecr.reset());

describe('EcrRegistry', () => {
  const registry = new EcrRegistry({
    client,
    registryId: '123456789012',
    mutableTagPatterns: () => ['latest', 'dev-*'],
  });

  test('reads the digest a tag serves, and null for a tag ECR does not have', async () => {
    ecr
      .on(BatchGetImageCommand, { imageIds: [{ imageTag: 'v1' }] })
      .resolves({ images: [{ imageId: { imageDigest: DIGEST, imageTag: 'v1' } }] });
    ecr
      .on(BatchGetImageCommand, { imageIds: [{ imageTag: 'gone' }] })
      .resolves({ images: [], failures: [{ failureCode: 'ImageNotFound' }] });
    expect(await registry.currentDigest('payments/api', 'v1')).toBe(DIGEST);
    expect(await registry.currentDigest('payments/api', 'gone')).toBeNull();
    expect(ecr.commandCalls(BatchGetImageCommand)[0]!.args[0].input).toMatchObject({
      registryId: '123456789012',
      repositoryName: 'payments/api',
    });
  });

  test('returns the exact manifest text and refuses one whose sha256 is not the digest', async () => {
    ecr
      .on(BatchGetImageCommand)
      .resolves({ images: [{ imageManifest: manifestText, imageManifestMediaType: MEDIA }] });
    const manifest = await registry.getManifest('payments/api', DIGEST);
    expect(manifest?.bytes.toString('utf8')).toBe(manifestText);
    expect(manifest?.mediaType).toBe(MEDIA);
    ecr
      .on(BatchGetImageCommand)
      .resolves({ images: [{ imageManifest: `${manifestText} `, imageManifestMediaType: MEDIA }] });
    await expect(registry.getManifest('payments/api', DIGEST)).rejects.toBeInstanceOf(PermanentError);
  });

  test('puts the exact text, media type, tag and digest back, and treats "already exists" as done', async () => {
    ecr.on(PutImageCommand).resolves({ image: { imageId: { imageDigest: DIGEST } } });
    const manifest = { bytes: Buffer.from(manifestText), mediaType: MEDIA, digest: DIGEST };
    expect(await registry.putManifest('payments/api', 'v1', manifest)).toBe(DIGEST);
    expect(ecr.commandCalls(PutImageCommand)[0]!.args[0].input).toEqual({
      registryId: '123456789012',
      repositoryName: 'payments/api',
      imageTag: 'v1',
      imageManifest: manifestText,
      imageManifestMediaType: MEDIA,
      imageDigest: DIGEST,
    });
    ecr.on(PutImageCommand).rejects(new ImageAlreadyExistsException({ message: 'exists', $metadata: {} }));
    expect(await registry.putManifest('payments/api', 'v1', manifest)).toBe(DIGEST);
    ecr
      .on(PutImageCommand)
      .rejects(new ImageTagAlreadyExistsException({ message: 'immutable', $metadata: {} }));
    await expect(registry.putManifest('payments/api', 'v1', manifest)).rejects.toThrow(/immutable/);
  });

  test('locks by making the repository immutable except the tags the policy lets float', async () => {
    ecr.on(PutImageTagMutabilityCommand).resolves({});
    expect(await registry.lockTag('payments/api', 'v1', DIGEST)).toEqual({ locked: true });
    expect(ecr.commandCalls(PutImageTagMutabilityCommand)[0]!.args[0].input).toMatchObject({
      imageTagMutability: 'IMMUTABLE_WITH_EXCLUSION',
      imageTagMutabilityExclusionFilters: [
        { filterType: 'WILDCARD', filter: 'latest' },
        { filterType: 'WILDCARD', filter: 'dev-*' },
      ],
    });
  });

  test('says why it cannot lock when the policy needs more exclusion filters than ECR allows, and calls nothing', async () => {
    const many = new EcrRegistry({ client, mutableTagPatterns: () => ['a', 'b', 'c', 'd', 'e', 'f'] });
    const outcome = await many.lockTag('payments/api', 'v1', DIGEST);
    expect(outcome).toEqual({
      locked: false,
      reason: expect.stringMatching(/at most 5 .* 6 tags .*a, b, c, d, e, f/),
    });
    expect(ecr.commandCalls(PutImageTagMutabilityCommand)).toHaveLength(0);
  });

  test('classifies throttling as transient and access denied as permanent, naming the operation', async () => {
    ecr.on(BatchGetImageCommand).rejects(awsError('ThrottlingException', 400));
    await expect(registry.currentDigest('payments/api', 'v1')).rejects.toBeInstanceOf(TransientError);
    ecr.on(BatchGetImageCommand).rejects(awsError('AccessDeniedException', 400));
    const denied = registry.currentDigest('payments/api', 'v1');
    await expect(denied).rejects.toBeInstanceOf(PermanentError);
    await expect(denied).rejects.toThrow(/BatchGetImage payments\/api: AccessDeniedException/);
  });

  test('refuses a bad repository name before calling AWS', async () => {
    await expect(registry.currentDigest('../etc', 'v1')).rejects.toBeInstanceOf(PermanentError);
    expect(ecr.calls()).toHaveLength(0);
  });

  test('reads owners from the tagwarden:owners resource tag', async () => {
    ecr
      .on(ListTagsForResourceCommand)
      .resolves({ tags: [{ Key: 'tagwarden:owners', Value: '#payments, @alice' }] });
    expect(
      await ownersFromRepositoryTags(client, 'arn:aws:ecr:us-east-1:123456789012:repository/payments/api'),
    ).toEqual(['#payments', '@alice']);
  });
});
