import { createHash } from 'node:crypto';
import {
  BatchGetImageCommand,
  DescribeRepositoriesCommand,
  ECRClient,
  ImageAlreadyExistsException,
  ImageTagAlreadyExistsException,
  InvalidParameterException,
  ListTagsForResourceCommand,
  PutImageCommand,
  PutImageTagMutabilityCommand,
  RepositoryNotFoundException,
} from '@aws-sdk/client-ecr';
import { mockClient } from 'aws-sdk-client-mock';
import { batchGetImage } from '../../../test/support/aws-mocks';
import { RecordingNotifier } from '../../../test/support/recording-notifier';
import { PermanentError, type Policy, type RegistryEvent, TransientError } from '../../core';
import { EffectRunner, keepTagFor } from '../../guard/effects';
import { MemoryHistoryStore } from '../../history';
import { silentLogger } from '../../log';
import { DOCUMENTED_ACCEPTED, EcrRegistry, ownersFromRepositoryTags } from './ecr';

const ecr = mockClient(ECRClient);
const client = new ECRClient({
  region: 'us-east-1',
  credentials: { accessKeyId: 'x', secretAccessKey: 'x' },
});
const MEDIA = 'application/vnd.oci.image.manifest.v1+json';
/** Manifest text as a registry keeps it: not what JSON.stringify would write, so a re-serialization shows. */
const manifest = (seed: string) =>
  `{\n   "schemaVersion": 2,\n   "mediaType": "${MEDIA}",\n   "config": {"seed": "${seed}"},\n   "layers": []\n}`;
const sha256 = (text: string) => `sha256:${createHash('sha256').update(text).digest('hex')}`;
const OLD = manifest('old');
const NEW = manifest('new');
const awsError = (name: string, status?: number) =>
  Object.assign(new Error(`${name} message`), {
    name,
    $metadata: status === undefined ? {} : { httpStatusCode: status },
  });
const meta = { $metadata: { httpStatusCode: 400 } };

interface RepositorySetting {
  imageTagMutability: 'MUTABLE' | 'IMMUTABLE' | 'IMMUTABLE_WITH_EXCLUSION';
  imageTagMutabilityExclusionFilters?: { filterType: 'WILDCARD'; filter: string }[];
}

/** Whether ECR keeps `tag` immutable under `setting`: every tag, or every tag no exclusion filter matches. */
function immutableUnder(setting: RepositorySetting, tag: string): boolean {
  if (setting.imageTagMutability === 'MUTABLE') return false;
  if (setting.imageTagMutability === 'IMMUTABLE') return true;
  return !(setting.imageTagMutabilityExclusionFilters ?? []).some(({ filter }) =>
    new RegExp(
      `^${filter
        .split('*')
        .map((part) => part.replace(/[.*+?^${}()|[\]\\-]/g, '\\$&'))
        .join('.*')}$`,
    ).test(tag),
  );
}

/**
 * ECR as the mock serves it, with state: `tags` map to digests, OLD and NEW exist by digest, and the
 * repository's tag mutability (changed by PutImageTagMutability) is enforced as ECR does: PutImage
 * of an existing tag onto another digest is refused with ImageTagAlreadyExistsException while the tag
 * is immutable. Returns the live state, for tests to look at.
 */
function ecrServes(
  tags: Record<string, string>,
  setting: RepositorySetting = { imageTagMutability: 'MUTABLE' },
) {
  const repository = { ...setting };
  ecr.on(BatchGetImageCommand).callsFake(batchGetImage((tag) => tags[tag], [OLD, NEW], MEDIA));
  ecr.on(PutImageCommand).callsFake((input: { imageManifest: string; imageTag: string }) => {
    const digest = sha256(input.imageManifest);
    const existing = tags[input.imageTag];
    if (existing && existing !== digest && immutableUnder(repository, input.imageTag)) {
      throw new ImageTagAlreadyExistsException({
        message: `The image tag '${input.imageTag}' already exists in the repository and cannot be overwritten because the tag is immutable.`,
        ...meta,
      });
    }
    tags[input.imageTag] = digest;
    return { image: { imageId: { imageTag: input.imageTag, imageDigest: digest } } };
  });
  ecr.on(DescribeRepositoriesCommand).callsFake(() => ({ repositories: [{ ...repository }] }));
  ecr.on(PutImageTagMutabilityCommand).callsFake((input: RepositorySetting) => {
    repository.imageTagMutability = input.imageTagMutability;
    if (input.imageTagMutabilityExclusionFilters)
      repository.imageTagMutabilityExclusionFilters = input.imageTagMutabilityExclusionFilters;
    else delete repository.imageTagMutabilityExclusionFilters;
    return {};
  });
  return { tags, repository };
}

beforeEach(() => ecr.reset());

const HOST = '123456789012.dkr.ecr.us-east-1.amazonaws.com';

/** A push of `text` under payments/api:v1.4.2 on the ECR host. */
const push = (id: string, text: string, timestamp: string): RegistryEvent => ({
  id,
  action: 'push',
  registryHost: HOST,
  repository: 'payments/api',
  tag: 'v1.4.2',
  digest: sha256(text),
  mediaType: MEDIA,
  timestamp,
  actor: 'ci',
});

/** A policy taking `action` on payments/*, alerting elsewhere. */
const paymentsPolicy = (action: 'revert' | 'lock'): Policy => ({
  defaults: { action: 'alert', owners: [], bump: false },
  rules: [{ match: { repository: 'payments/*' }, action, owners: ['#payments'], bump: false }],
});

/** A store where payments/api:v1.4.2 went from OLD (10:00) to NEW (10:05), recorded as an overwrite. */
async function overwrittenStore(policy: Policy): Promise<MemoryHistoryStore> {
  const store = new MemoryHistoryStore();
  await store.apply(push('e1', OLD, '2026-11-22T10:00:00.000Z'), policy, '2026-11-22T10:00:01.000Z');
  const overwrite = await store.apply(
    push('e2', NEW, '2026-11-22T10:05:00.000Z'),
    policy,
    '2026-11-22T10:05:01.000Z',
  );
  expect(overwrite.transition.kind).toBe('overwrite');
  return store;
}

/** The ECR registry (keep tags and `latest` stay mutable) and an outbox runner on it, at 10:05:02. */
function runnerOnEcr(store: MemoryHistoryStore, policy: Policy) {
  const registry = new EcrRegistry({
    client,
    registryId: '123456789012',
    mutableTagPatterns: () => ['latest', 'tagwarden-keep-*'],
  });
  const notifier = new RecordingNotifier();
  const runner = new EffectRunner({
    store,
    registries: (host) => (host === HOST ? registry : null),
    notifier,
    log: silentLogger,
    policy,
    now: () => new Date('2026-11-22T10:05:02.000Z'),
  });
  return { registry, notifier, runner };
}

describe('EcrRegistry', () => {
  const registry = new EcrRegistry({
    client,
    registryId: '123456789012',
    mutableTagPatterns: () => ['latest', 'dev-*'],
  });

  test('reads the digest a tag serves, asking for every manifest kind including indexes', async () => {
    ecrServes({ v1: sha256(NEW) });
    expect(await registry.currentDigest('payments/api', 'v1')).toBe(sha256(NEW));
    expect(ecr.commandCalls(BatchGetImageCommand)[0]!.args[0].input).toEqual({
      registryId: '123456789012',
      repositoryName: 'payments/api',
      imageIds: [{ imageTag: 'v1' }],
      acceptedMediaTypes: [
        'application/vnd.oci.image.index.v1+json',
        'application/vnd.oci.image.manifest.v1+json',
        'application/vnd.docker.distribution.manifest.list.v2+json',
        'application/vnd.docker.distribution.manifest.v2+json',
      ],
    });
  });

  test('asks again with the documented media types when ECR refuses the index types, and keeps to them', async () => {
    const warnings: string[] = [];
    const strict = new EcrRegistry({
      client,
      registryId: '123456789012',
      log: { warn: (m) => warnings.push(m) },
    });
    ecr.on(BatchGetImageCommand).callsFake((input: { acceptedMediaTypes: string[] }) => {
      if (input.acceptedMediaTypes.some((type) => !DOCUMENTED_ACCEPTED.includes(type)))
        throw awsError('InvalidParameterException', 400);
      return { images: [{ imageId: { imageTag: 'v1', imageDigest: sha256(NEW) } }], failures: [] };
    });
    expect(await strict.currentDigest('payments/api', 'v1')).toBe(sha256(NEW));
    expect(await strict.currentDigest('payments/api', 'v2')).toBe(sha256(NEW));
    const asked = ecr.commandCalls(BatchGetImageCommand).map((call) => call.args[0].input.acceptedMediaTypes);
    // Refused once with the index types, then only the documented ones, also for the next read.
    expect(asked).toEqual([
      expect.arrayContaining(['application/vnd.oci.image.index.v1+json']),
      DOCUMENTED_ACCEPTED,
      DOCUMENTED_ACCEPTED,
    ]);
    expect(warnings).toEqual([expect.stringContaining('documented types only')]);
    // Refused with the documented types too: a permanent error, not a loop.
    ecr.on(BatchGetImageCommand).rejects(awsError('InvalidParameterException', 400));
    await expect(strict.currentDigest('payments/api', 'v1')).rejects.toBeInstanceOf(PermanentError);
  });

  test('answers null for a tag ECR does not have and for a repository that does not exist', async () => {
    ecrServes({});
    expect(await registry.currentDigest('payments/api', 'gone')).toBeNull();
    ecr
      .on(BatchGetImageCommand)
      .resolves({ images: [], failures: [{ failureCode: 'ImageTagDoesNotMatchDigest' }] });
    expect(await registry.currentDigest('payments/api', 'gone')).toBeNull();
    ecr
      .on(BatchGetImageCommand)
      .rejects(new RepositoryNotFoundException({ message: 'no repository', ...meta }));
    expect(await registry.currentDigest('payments/api', 'v1')).toBeNull();
  });

  test('treats a throttled upstream as transient and an invalid tag failure as permanent', async () => {
    ecr.on(BatchGetImageCommand).resolves({ failures: [{ failureCode: 'UpstreamTooManyRequests' }] });
    await expect(registry.currentDigest('payments/api', 'v1')).rejects.toBeInstanceOf(TransientError);
    ecr.on(BatchGetImageCommand).resolves({ failures: [{ failureCode: 'InvalidImageTag' }] });
    await expect(registry.currentDigest('payments/api', 'v1')).rejects.toBeInstanceOf(PermanentError);
  });

  test('returns the exact manifest bytes and media type for a digest, and null for a missing one', async () => {
    ecrServes({});
    const got = await registry.getManifest('payments/api', sha256(OLD));
    expect(got).toEqual({ bytes: Buffer.from(OLD, 'utf8'), mediaType: MEDIA, digest: sha256(OLD) });
    expect(await registry.getManifest('payments/api', sha256('other'))).toBeNull();
  });

  test('refuses a manifest whose sha256 is not the digest asked for', async () => {
    ecr
      .on(BatchGetImageCommand)
      .resolves({ images: [{ imageManifest: `${OLD} `, imageManifestMediaType: MEDIA }] });
    const read = registry.getManifest('payments/api', sha256(OLD));
    await expect(read).rejects.toBeInstanceOf(PermanentError);
    await expect(read).rejects.toThrow(/digest is sha256:/);
  });

  test('puts the exact text, media type, tag and digest, and returns the digest ECR computed', async () => {
    ecrServes({});
    const old = { bytes: Buffer.from(OLD, 'utf8'), mediaType: MEDIA, digest: sha256(OLD) };
    expect(await registry.putManifest('payments/api', 'v1', old)).toBe(sha256(OLD));
    expect(ecr.commandCalls(PutImageCommand).map((c) => c.args[0].input)).toEqual([
      {
        registryId: '123456789012',
        repositoryName: 'payments/api',
        imageTag: 'v1',
        imageManifest: OLD,
        imageManifestMediaType: MEDIA,
        imageDigest: sha256(OLD),
      },
    ]);
  });

  test('treats ImageAlreadyExistsException as done', async () => {
    ecr.on(PutImageCommand).rejects(new ImageAlreadyExistsException({ message: 'exists', ...meta }));
    const old = { bytes: Buffer.from(OLD, 'utf8'), mediaType: MEDIA, digest: sha256(OLD) };
    expect(await registry.putManifest('payments/api', 'v1', old)).toBe(sha256(OLD));
  });

  test('fails permanently, saying the tag is immutable, on ImageTagAlreadyExistsException', async () => {
    ecr.on(PutImageCommand).rejects(new ImageTagAlreadyExistsException({ message: 'immutable', ...meta }));
    const old = { bytes: Buffer.from(OLD, 'utf8'), mediaType: MEDIA, digest: sha256(OLD) };
    const put = registry.putManifest('payments/api', 'v1', old);
    await expect(put).rejects.toBeInstanceOf(PermanentError);
    await expect(put).rejects.toThrow(/PutImage payments\/api:v1: .*tag is immutable/);
  });

  test('puts a tag back into a fully immutable repository by excluding that tag alone for the put', async () => {
    const served = ecrServes({ v1: sha256(NEW) }, { imageTagMutability: 'IMMUTABLE' });
    const old = { bytes: Buffer.from(OLD, 'utf8'), mediaType: MEDIA, digest: sha256(OLD) };
    expect(await registry.putManifest('payments/api', 'v1', old)).toBe(sha256(OLD));
    expect(served.tags.v1).toBe(sha256(OLD));
    expect(ecr.commandCalls(PutImageTagMutabilityCommand).map((c) => c.args[0].input)).toEqual([
      {
        registryId: '123456789012',
        repositoryName: 'payments/api',
        imageTagMutability: 'IMMUTABLE_WITH_EXCLUSION',
        imageTagMutabilityExclusionFilters: [{ filterType: 'WILDCARD', filter: 'v1' }],
      },
      { registryId: '123456789012', repositoryName: 'payments/api', imageTagMutability: 'IMMUTABLE' },
    ]);
    expect(served.repository).toEqual({ imageTagMutability: 'IMMUTABLE' });
  });

  test('locks the repository again when the put through the lock fails', async () => {
    const filters = [{ filterType: 'WILDCARD' as const, filter: 'latest' }];
    const served = ecrServes(
      { v1: sha256(NEW) },
      { imageTagMutability: 'IMMUTABLE_WITH_EXCLUSION', imageTagMutabilityExclusionFilters: filters },
    );
    ecr
      .on(PutImageCommand)
      .rejectsOnce(new ImageTagAlreadyExistsException({ message: 'immutable', ...meta }))
      .rejects(awsError('AccessDeniedException', 400));
    const old = { bytes: Buffer.from(OLD, 'utf8'), mediaType: MEDIA, digest: sha256(OLD) };
    await expect(registry.putManifest('payments/api', 'v1', old)).rejects.toThrow(/AccessDeniedException/);
    expect(ecr.commandCalls(PutImageTagMutabilityCommand)).toHaveLength(2);
    expect(served.repository).toEqual({
      imageTagMutability: 'IMMUTABLE_WITH_EXCLUSION',
      imageTagMutabilityExclusionFilters: filters,
    });
    expect(served.tags.v1).toBe(sha256(NEW));
  });

  test('refuses to put bytes whose digest is not the stated one, without calling ECR', async () => {
    const wrong = { bytes: Buffer.from(NEW, 'utf8'), mediaType: MEDIA, digest: sha256(OLD) };
    await expect(registry.putManifest('payments/api', 'v1', wrong)).rejects.toBeInstanceOf(PermanentError);
    expect(ecr.calls()).toHaveLength(0);
  });

  test('locks by making the repository immutable except the patterns the policy lets float', async () => {
    ecr.on(DescribeRepositoriesCommand).resolves({ repositories: [{ imageTagMutability: 'MUTABLE' }] });
    ecr.on(PutImageTagMutabilityCommand).resolves({});
    expect(await registry.lockTag('payments/api', 'v1', sha256(OLD))).toEqual({ locked: true });
    expect(ecr.commandCalls(PutImageTagMutabilityCommand).map((c) => c.args[0].input)).toEqual([
      {
        registryId: '123456789012',
        repositoryName: 'payments/api',
        imageTagMutability: 'IMMUTABLE_WITH_EXCLUSION',
        imageTagMutabilityExclusionFilters: [
          { filterType: 'WILDCARD', filter: 'latest' },
          { filterType: 'WILDCARD', filter: 'dev-*' },
        ],
      },
    ]);
  });

  test('leaves a repository that is already fully immutable as it is', async () => {
    ecr.on(DescribeRepositoriesCommand).resolves({ repositories: [{ imageTagMutability: 'IMMUTABLE' }] });
    expect(await registry.lockTag('payments/api', 'v1', sha256(OLD))).toEqual({ locked: true });
    expect(ecr.commandCalls(PutImageTagMutabilityCommand)).toHaveLength(0);
  });

  test('keeps exclusion filters already set on the repository', async () => {
    ecr.on(DescribeRepositoriesCommand).resolves({
      repositories: [
        {
          imageTagMutability: 'IMMUTABLE_WITH_EXCLUSION',
          imageTagMutabilityExclusionFilters: [{ filterType: 'WILDCARD', filter: 'nightly-*' }],
        },
      ],
    });
    ecr.on(PutImageTagMutabilityCommand).resolves({});
    expect(await registry.lockTag('payments/api', 'v1', sha256(OLD))).toEqual({ locked: true });
    expect(
      ecr.commandCalls(PutImageTagMutabilityCommand)[0]!.args[0].input.imageTagMutabilityExclusionFilters,
    ).toEqual([
      { filterType: 'WILDCARD', filter: 'latest' },
      { filterType: 'WILDCARD', filter: 'dev-*' },
      { filterType: 'WILDCARD', filter: 'nightly-*' },
    ]);
  });

  test('says it cannot lock a tag that an exclusion filter keeps mutable', async () => {
    ecr.on(DescribeRepositoriesCommand).resolves({ repositories: [{ imageTagMutability: 'MUTABLE' }] });
    const outcome = await registry.lockTag('payments/api', 'dev-7', sha256(OLD));
    expect(outcome).toEqual({ locked: false, reason: expect.stringContaining('exclusion filter dev-*') });
    expect(ecr.commandCalls(PutImageTagMutabilityCommand)).toHaveLength(0);
  });

  test('says why it cannot lock when the policy has more allow patterns than ECR allows filters, and calls nothing', async () => {
    const many = new EcrRegistry({ client, mutableTagPatterns: () => ['a', 'b', 'c', 'd', 'e', 'f*'] });
    expect(await many.lockTag('payments/api', 'v1', sha256(OLD))).toEqual({
      locked: false,
      reason:
        'ECR allows at most 5 tag-mutability exclusion filters; the policy has 6 allow patterns for payments/api: a, b, c, d, e, f*',
    });
    expect(ecr.calls()).toHaveLength(0);
  });

  test('leaves the repository unchanged and says so when ECR rejects IMMUTABLE_WITH_EXCLUSION', async () => {
    ecr.on(DescribeRepositoriesCommand).resolves({ repositories: [{ imageTagMutability: 'MUTABLE' }] });
    ecr
      .on(PutImageTagMutabilityCommand)
      .rejects(new InvalidParameterException({ message: 'Invalid parameter', ...meta }));
    const outcome = await registry.lockTag('payments/api', 'v1', sha256(OLD));
    expect(outcome).toEqual({
      locked: false,
      reason: expect.stringMatching(/rejected IMMUTABLE_WITH_EXCLUSION .*left as it was/),
    });
    expect(ecr.commandCalls(PutImageTagMutabilityCommand)).toHaveLength(1);
  });

  test('does not make a repository fully immutable when it was not told which tags float', async () => {
    const bare = new EcrRegistry({ client });
    expect(await bare.lockTag('payments/api', 'v1', sha256(OLD))).toMatchObject({ locked: false });
    expect(ecr.calls()).toHaveLength(0);
  });

  test('classifies throttling, 5xx and network errors as transient', async () => {
    ecr.on(BatchGetImageCommand).rejects(awsError('ThrottlingException', 400));
    await expect(registry.currentDigest('payments/api', 'v1')).rejects.toBeInstanceOf(TransientError);
    ecr.on(BatchGetImageCommand).rejects(awsError('ServerException', 500));
    await expect(registry.currentDigest('payments/api', 'v1')).rejects.toBeInstanceOf(TransientError);
    ecr.on(BatchGetImageCommand).rejects(Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }));
    await expect(registry.currentDigest('payments/api', 'v1')).rejects.toBeInstanceOf(TransientError);
  });

  test('classifies AccessDenied as permanent, naming the operation, the repository and the AWS error', async () => {
    ecr.on(PutImageCommand).rejects(awsError('AccessDeniedException', 400));
    const old = { bytes: Buffer.from(OLD, 'utf8'), mediaType: MEDIA, digest: sha256(OLD) };
    const put = registry.putManifest('payments/api', 'v1', old);
    await expect(put).rejects.toBeInstanceOf(PermanentError);
    await expect(put).rejects.toThrow(/^PutImage payments\/api:v1: AccessDeniedException \(HTTP 400\)/);
  });

  test('refuses a bad repository name, tag or digest before calling AWS', async () => {
    await expect(registry.currentDigest('../etc', 'v1')).rejects.toBeInstanceOf(PermanentError);
    await expect(registry.currentDigest('payments/api', '-v1')).rejects.toBeInstanceOf(PermanentError);
    await expect(registry.getManifest('payments/api', 'sha256:nothex')).rejects.toBeInstanceOf(
      PermanentError,
    );
    await expect(registry.lockTag('Payments', 'v1', sha256(OLD))).rejects.toBeInstanceOf(PermanentError);
    expect(ecr.calls()).toHaveLength(0);
  });
});

describe('ownersFromRepositoryTags', () => {
  test('reads owners from the tagwarden:owners resource tag', async () => {
    ecr.on(ListTagsForResourceCommand).resolves({
      tags: [
        { Key: 'team', Value: 'x' },
        { Key: 'tagwarden:owners', Value: '#payments, @alice' },
      ],
    });
    const arn = 'arn:aws:ecr:us-east-1:123456789012:repository/payments/api';
    expect(await ownersFromRepositoryTags(client, arn)).toEqual(['#payments', '@alice']);
    expect(ecr.commandCalls(ListTagsForResourceCommand)[0]!.args[0].input).toEqual({ resourceArn: arn });
  });

  test('answers no owners for a repository without the tag', async () => {
    ecr.on(ListTagsForResourceCommand).resolves({ tags: [] });
    expect(
      await ownersFromRepositoryTags(client, 'arn:aws:ecr:us-east-1:123456789012:repository/payments/api'),
    ).toEqual([]);
  });
});

describe('a revert through the effect runner with ECR', () => {
  test('an overwrite of a revert tag ends in PutImage of the old manifest text under the tag, and the new one kept', async () => {
    const policy = paymentsPolicy('revert');
    const store = await overwrittenStore(policy);

    ecrServes({ 'v1.4.2': sha256(NEW) });
    const { notifier, runner } = runnerOnEcr(store, policy);
    await runner.runDue();

    const puts = ecr.commandCalls(PutImageCommand).map((c) => c.args[0].input);
    expect(puts).toEqual([
      {
        registryId: '123456789012',
        repositoryName: 'payments/api',
        imageTag: keepTagFor(sha256(NEW)),
        imageManifest: NEW,
        imageManifestMediaType: MEDIA,
        imageDigest: sha256(NEW),
      },
      {
        registryId: '123456789012',
        repositoryName: 'payments/api',
        imageTag: 'v1.4.2',
        imageManifest: OLD,
        imageManifestMediaType: MEDIA,
        imageDigest: sha256(OLD),
      },
    ]);
    expect(notifier.alerts).toHaveLength(1);
    expect(notifier.alerts[0]!.actionTaken).toMatch(/^reverted to sha256:/);
  });
});

describe('lock then revert with ECR, as ECR enforces tag immutability', () => {
  const TAG = 'v1.4.2';

  test('an overwrite that slipped in before the lock is put back through the lock, and the lock stays', async () => {
    const policy = paymentsPolicy('lock');
    // The overwrite lands before the first push's lock has run.
    const store = await overwrittenStore(policy);

    const served = ecrServes({ [TAG]: sha256(NEW) });
    const { registry, notifier, runner } = runnerOnEcr(store, policy);
    await runner.runDue();

    expect((await store.effectsOf('e1')).map((e) => [e.kind, e.status])).toEqual([['lock', 'done']]);
    expect((await store.effectsOf('e2')).map((e) => [e.kind, e.status])).toEqual([
      ['revert', 'done'],
      ['lock', 'done'],
      ['alert', 'done'],
    ]);
    expect(served.tags[TAG]).toBe(sha256(OLD));
    expect(served.tags[keepTagFor(sha256(NEW))]).toBe(sha256(NEW));
    // The repository is locked as the policy wants, with no exclusion left for the reverted tag.
    const lockedAs = {
      imageTagMutability: 'IMMUTABLE_WITH_EXCLUSION',
      imageTagMutabilityExclusionFilters: [
        { filterType: 'WILDCARD', filter: 'latest' },
        { filterType: 'WILDCARD', filter: 'tagwarden-keep-*' },
      ],
    };
    expect(served.repository).toEqual(lockedAs);
    expect(notifier.alerts).toHaveLength(1);
    expect(notifier.alerts[0]).toMatchObject({ severity: 'warning' });
    expect(notifier.alerts[0]!.actionTaken).toMatch(/^reverted to sha256:/);
    // And ECR refuses the overwrite again.
    const again = { bytes: Buffer.from(NEW, 'utf8'), mediaType: MEDIA, digest: sha256(NEW) };
    ecr.on(DescribeRepositoriesCommand).resolves({ repositories: [{ imageTagMutability: 'MUTABLE' }] });
    await expect(registry.putManifest('payments/api', TAG, again)).rejects.toThrow(/tag is immutable/);
    expect(served.tags[TAG]).toBe(sha256(OLD));
  });
});
