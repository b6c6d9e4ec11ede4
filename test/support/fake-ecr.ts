/**
 * A stand-in for Amazon ECR's API (awsJson1_1, `AmazonEC2ContainerRegistry_V20150921.<Operation>`)
 * on 127.0.0.1, for the operations Tagwarden's functions call: DescribeRepositories, DescribeImages,
 * BatchGetImage, PutImage, PutImageTagMutability, ListTagsForResource. Pages are `pageSize` long
 * (ECR may answer fewer than `maxResults`), so every caller must follow `nextToken`.
 *
 *   const ecr = await startFakeEcr({ account: '123456789012', region: 'eu-west-1', pageSize: 1 });
 *   const { digest, event } = ecr.push('payments/api', 'v1', manifest);  // event: EventBridge's ECR Image Action
 *   ecr.digestOf('payments/api', 'v1');   // what the tag serves now
 *   ecr.service.callsOf('PutImage');      // what the functions asked
 */
import { createHash, randomUUID } from 'node:crypto';
import { AwsJsonError, type AwsJsonService, page, startAwsJsonService } from './fake-aws-json';

export const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';

interface Repository {
  tags: Map<string, string>;
  manifests: Map<string, { text: string; mediaType: string }>;
  mutability: Record<string, unknown>;
}

export interface FakeEcr {
  service: AwsJsonService;
  endpoint: string;
  /** `<account>.dkr.ecr.<region>.amazonaws.com` */
  host: string;
  createRepository(name: string): void;
  /** A `docker push`: the manifest stored, the tag moved to it, and the event ECR sends EventBridge. */
  push(repository: string, tag: string, manifest: string): { digest: string; event: EcrImageAction };
  digestOf(repository: string, tag: string): string | undefined;
  stop(): Promise<void>;
}

export interface EcrImageAction {
  version: '0';
  id: string;
  'detail-type': 'ECR Image Action';
  source: 'aws.ecr';
  account: string;
  time: string;
  region: string;
  resources: string[];
  detail: Record<string, string>;
}

const sha256 = (text: string) => `sha256:${createHash('sha256').update(text).digest('hex')}`;

export async function startFakeEcr(options: {
  account: string;
  region: string;
  pageSize?: number;
}): Promise<FakeEcr> {
  const repositories = new Map<string, Repository>();
  const size = options.pageSize ?? 1000;
  // Event times are now, and at least a second apart: two pushes of one tag are never simultaneous.
  let clock = 0;
  const repositoryOf = (name: unknown): Repository => {
    const repository = repositories.get(String(name));
    if (!repository)
      throw new AwsJsonError(
        'RepositoryNotFoundException',
        `The repository with name '${String(name)}' does not exist in the registry with id '${options.account}'`,
      );
    return repository;
  };
  const describe = (name: string) => ({
    registryId: options.account,
    repositoryName: name,
    repositoryArn: `arn:aws:ecr:${options.region}:${options.account}:repository/${name}`,
    imageTagMutability: 'MUTABLE',
    ...repositories.get(name)!.mutability,
  });
  const imageFor = (
    repository: Repository,
    name: string,
    id: { imageTag?: string; imageDigest?: string },
  ) => {
    const digest = id.imageDigest ?? repository.tags.get(id.imageTag ?? '');
    const manifest = digest ? repository.manifests.get(digest) : undefined;
    if (!digest || !manifest) return null;
    return {
      registryId: options.account,
      repositoryName: name,
      imageId: { ...id, imageDigest: digest },
      imageManifest: manifest.text,
      imageManifestMediaType: manifest.mediaType,
    };
  };
  const service = await startAwsJsonService('1.1', {
    DescribeRepositories: (input: {
      repositoryNames?: string[];
      nextToken?: string;
      maxResults?: number;
    }) => {
      if (input.repositoryNames) {
        for (const name of input.repositoryNames) repositoryOf(name);
        return { repositories: input.repositoryNames.map(describe) };
      }
      const one = page([...repositories.keys()], input.nextToken, Math.min(size, input.maxResults ?? 1000));
      return {
        repositories: one.items.map(describe),
        ...(one.nextToken ? { nextToken: one.nextToken } : {}),
      };
    },
    DescribeImages: (input: { repositoryName: string; nextToken?: string; maxResults?: number }) => {
      const repository = repositoryOf(input.repositoryName);
      const details = [...repository.manifests].map(([digest, manifest]) => ({
        registryId: options.account,
        repositoryName: input.repositoryName,
        imageDigest: digest,
        imageTags: [...repository.tags].filter(([, d]) => d === digest).map(([tag]) => tag),
        imageManifestMediaType: manifest.mediaType,
      }));
      const tagged = details.filter((d) => d.imageTags.length > 0);
      const one = page(tagged, input.nextToken, Math.min(size, input.maxResults ?? 1000));
      return { imageDetails: one.items, ...(one.nextToken ? { nextToken: one.nextToken } : {}) };
    },
    BatchGetImage: (input: {
      repositoryName: string;
      imageIds: { imageTag?: string; imageDigest?: string }[];
    }) => {
      const repository = repositoryOf(input.repositoryName);
      const found = input.imageIds.map((id) => ({
        id,
        image: imageFor(repository, input.repositoryName, id),
      }));
      return {
        images: found.flatMap(({ image }) => (image ? [image] : [])),
        failures: found
          .filter(({ image }) => !image)
          .map(({ id }) => ({
            imageId: id,
            failureCode: 'ImageNotFound',
            failureReason: 'Requested image not found',
          })),
      };
    },
    PutImage: (input: {
      repositoryName: string;
      imageTag: string;
      imageManifest: string;
      imageManifestMediaType?: string;
      imageDigest?: string;
    }) => {
      const repository = repositoryOf(input.repositoryName);
      const digest = sha256(input.imageManifest);
      if (input.imageDigest && input.imageDigest !== digest)
        throw new AwsJsonError('InvalidParameterException', 'imageDigest does not match the manifest');
      if (repository.tags.get(input.imageTag) === digest)
        throw new AwsJsonError('ImageAlreadyExistsException', 'Image with digest and tag already exists');
      repository.manifests.set(digest, {
        text: input.imageManifest,
        mediaType: input.imageManifestMediaType ?? OCI_MANIFEST,
      });
      repository.tags.set(input.imageTag, digest);
      return { image: imageFor(repository, input.repositoryName, { imageTag: input.imageTag }) };
    },
    PutImageTagMutability: (input: { repositoryName: string } & Record<string, unknown>) => {
      const { repositoryName, registryId: _registry, ...setting } = input;
      repositoryOf(repositoryName).mutability = setting;
      return { registryId: options.account, repositoryName, ...setting };
    },
    ListTagsForResource: () => ({ tags: [] }),
  });
  const fake: FakeEcr = {
    service,
    endpoint: service.endpoint,
    host: `${options.account}.dkr.ecr.${options.region}.amazonaws.com`,
    createRepository: (name) => {
      if (!repositories.has(name))
        repositories.set(name, { tags: new Map(), manifests: new Map(), mutability: {} });
    },
    push: (name, tag, manifest) => {
      fake.createRepository(name);
      const repository = repositories.get(name)!;
      const digest = sha256(manifest);
      clock = Math.max(Date.now(), clock + 1000);
      repository.manifests.set(digest, { text: manifest, mediaType: OCI_MANIFEST });
      repository.tags.set(tag, digest);
      const event: EcrImageAction = {
        version: '0',
        id: randomUUID(),
        'detail-type': 'ECR Image Action',
        source: 'aws.ecr',
        account: options.account,
        time: new Date(clock).toISOString().replace(/\.\d+Z$/, 'Z'),
        region: options.region,
        resources: [],
        detail: {
          result: 'SUCCESS',
          'repository-name': name,
          'image-digest': digest,
          'action-type': 'PUSH',
          'image-tag': tag,
          'manifest-media-type': OCI_MANIFEST,
        },
      };
      return { digest, event };
    },
    digestOf: (name, tag) => repositories.get(name)?.tags.get(tag),
    stop: () => service.stop(),
  };
  return fake;
}
