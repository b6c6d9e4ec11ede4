import { createHash } from 'node:crypto';
import {
  BatchGetImageCommand,
  type ECRClient,
  ImageAlreadyExistsException,
  ImageTagAlreadyExistsException,
  ListTagsForResourceCommand,
  PutImageCommand,
  PutImageTagMutabilityCommand,
  RepositoryNotFoundException,
} from '@aws-sdk/client-ecr';
import {
  type Digest,
  digestProblem,
  errorMessage,
  PermanentError,
  repositoryProblem,
  TransientError,
  tagProblem,
} from '../../core';
import { MANIFEST_ACCEPT } from './oci-distribution';
import type { LockOutcome, Manifest, RegistryClient } from './port';

/** PutImageTagMutability takes at most 5 exclusion filters, each `[0-9a-zA-Z._*-]{1,128}` (ECR API reference). */
export const MAX_EXCLUSION_FILTERS = 5;
const FILTER = /^[0-9a-zA-Z._*-]{1,128}$/;
const ACCEPTED = MANIFEST_ACCEPT.split(',').map((type) => type.trim());
const TRANSIENT = new Set([
  'ThrottlingException',
  'ServerException',
  'ServiceUnavailable',
  'TooManyRequestsException',
  'InternalFailure',
  'RequestTimeout',
]);

export interface EcrRegistryOptions {
  client: ECRClient;
  /** The account of the registry; the client's own account when left out. */
  registryId?: string;
  /** Tags that must stay mutable when a repository is locked (the policy's `allow` tags). */
  mutableTagPatterns?: (repository: string) => string[];
}

/**
 * Amazon ECR through its API: BatchGetImage reads the exact manifest text, PutImage puts it back
 * under a tag (the revert), and a lock is the repository's tag immutability with exclusions for
 * the tags the policy lets float, since ECR locks per repository, not per tag.
 */
export class EcrRegistry implements RegistryClient {
  readonly kind = 'ecr';

  constructor(private readonly options: EcrRegistryOptions) {}

  private get registry() {
    return this.options.registryId ? { registryId: this.options.registryId } : {};
  }

  async currentDigest(repository: string, tag: string): Promise<Digest | null> {
    check(repositoryProblem(repository), tagProblem(tag));
    const answer = await this.call('BatchGetImage', repository, () =>
      this.options.client.send(
        new BatchGetImageCommand({
          ...this.registry,
          repositoryName: repository,
          imageIds: [{ imageTag: tag }],
          acceptedMediaTypes: ACCEPTED,
        }),
      ),
    );
    return answer?.images?.[0]?.imageId?.imageDigest ?? null;
  }

  async getManifest(repository: string, digest: Digest): Promise<Manifest | null> {
    check(repositoryProblem(repository), digestProblem(digest));
    const answer = await this.call('BatchGetImage', repository, () =>
      this.options.client.send(
        new BatchGetImageCommand({
          ...this.registry,
          repositoryName: repository,
          imageIds: [{ imageDigest: digest }],
          acceptedMediaTypes: ACCEPTED,
        }),
      ),
    );
    const image = answer?.images?.[0];
    if (!image?.imageManifest) return null;
    // ECR returns the manifest's exact text: its sha256 is the digest, or something is wrong.
    const bytes = Buffer.from(image.imageManifest, 'utf8');
    const actual = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
    if (digest.startsWith('sha256:') && actual !== digest) {
      throw new PermanentError(
        `BatchGetImage ${repository}: the manifest served for ${digest} has digest ${actual}`,
      );
    }
    const mediaType = image.imageManifestMediaType;
    if (!mediaType) throw new PermanentError(`BatchGetImage ${repository}: no media type for ${digest}`);
    return { bytes, mediaType, digest };
  }

  async putManifest(repository: string, tag: string, manifest: Manifest): Promise<Digest> {
    check(repositoryProblem(repository), tagProblem(tag));
    try {
      const answer = await this.options.client.send(
        new PutImageCommand({
          ...this.registry,
          repositoryName: repository,
          imageTag: tag,
          imageManifest: manifest.bytes.toString('utf8'),
          imageManifestMediaType: manifest.mediaType,
          imageDigest: manifest.digest,
        }),
      );
      return answer.image?.imageId?.imageDigest ?? manifest.digest;
    } catch (error) {
      // The tag already names exactly this manifest: the revert is done.
      if (error instanceof ImageAlreadyExistsException) return manifest.digest;
      if (error instanceof ImageTagAlreadyExistsException) {
        throw new PermanentError(
          `PutImage ${repository}:${tag}: the tag is immutable in ECR, so it cannot be put back`,
        );
      }
      throw classify('PutImage', repository, error);
    }
  }

  async lockTag(repository: string, _tag: string, _digest: Digest): Promise<LockOutcome> {
    check(repositoryProblem(repository));
    const patterns = [...new Set(this.options.mutableTagPatterns?.(repository) ?? [])];
    const invalid = patterns.filter((p) => !FILTER.test(p));
    if (invalid.length > 0) {
      return {
        locked: false,
        reason: `ECR exclusion filters allow only [0-9a-zA-Z._*-]; the policy's allow tags ${invalid.join(', ')} for ${repository} cannot be expressed`,
      };
    }
    if (patterns.length > MAX_EXCLUSION_FILTERS) {
      return {
        locked: false,
        reason: `ECR allows at most ${MAX_EXCLUSION_FILTERS} tag-mutability exclusion filters; the policy has ${patterns.length} tags that must stay mutable in ${repository}: ${patterns.join(', ')}`,
      };
    }
    await this.call('PutImageTagMutability', repository, () =>
      this.options.client.send(
        new PutImageTagMutabilityCommand({
          ...this.registry,
          repositoryName: repository,
          imageTagMutability: patterns.length > 0 ? 'IMMUTABLE_WITH_EXCLUSION' : 'IMMUTABLE',
          ...(patterns.length > 0
            ? {
                imageTagMutabilityExclusionFilters: patterns.map((filter) => ({
                  filterType: 'WILDCARD' as const,
                  filter,
                })),
              }
            : {}),
        }),
      ),
    );
    return { locked: true };
  }

  /** A read whose missing repository means "nothing there", and whose errors are classified. */
  private async call<T>(operation: string, repository: string, send: () => Promise<T>): Promise<T | null> {
    try {
      return await send();
    } catch (error) {
      if (error instanceof RepositoryNotFoundException) return null;
      throw classify(operation, repository, error);
    }
  }
}

/** The `tagwarden:owners` resource tag of a repository, e.g. "#payments, @alice". */
export async function ownersFromRepositoryTags(client: ECRClient, repositoryArn: string): Promise<string[]> {
  const answer = await client.send(new ListTagsForResourceCommand({ resourceArn: repositoryArn }));
  const value = answer.tags?.find((t) => t.Key === 'tagwarden:owners')?.Value ?? '';
  return value.split(/[\s,]+/).filter(Boolean);
}

/** Arguments are validated before any call: a bad name never reaches AWS. */
function check(...problems: (string | null)[]): void {
  const problem = problems.find((p) => p !== null);
  if (problem) throw new PermanentError(problem);
}

function classify(operation: string, repository: string, error: unknown): Error {
  const name = (error as { name?: string }).name ?? 'Error';
  const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
  if (TRANSIENT.has(name) || status === undefined || status >= 500 || status === 429) {
    return new TransientError(`${operation} ${repository}: ${name}: ${errorMessage(error)}`);
  }
  return new PermanentError(`${operation} ${repository}: ${name}: ${errorMessage(error)}`);
}
