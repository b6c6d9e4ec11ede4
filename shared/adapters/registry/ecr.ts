import {
  BatchGetImageCommand,
  type BatchGetImageCommandOutput,
  DescribeRepositoriesCommand,
  type ECRClient,
  type ImageTagMutabilityExclusionFilter,
  ListTagsForResourceCommand,
  type ListTagsForResourceCommandOutput,
  ImageTagMutability as Mutability,
  PutImageCommand,
  PutImageTagMutabilityCommand,
} from '@aws-sdk/client-ecr';
import {
  type Digest,
  digestProblem,
  PermanentError,
  repositoryProblem,
  TransientError,
  tagProblem,
} from '../../core';
import type { Logger } from '../../log';
import { classify, clip, errorName } from './ecr-errors';
import { checkArguments, checkManifestToPut, servedDigest, servedManifest } from './manifest-bytes';
import { MANIFEST_ACCEPT } from './oci-distribution';
import type { LockOutcome, Manifest, RegistryClient } from './port';

/**
 * PutImageTagMutability takes 1 to 5 exclusion filters, each `{ filterType: 'WILDCARD', filter }`
 * with `filter` matching `^[0-9a-zA-Z._*-]{1,128}$` (ECR API reference, PutImageTagMutability and
 * ImageTagMutabilityExclusionFilter).
 */
export const MAX_EXCLUSION_FILTERS = 5;
const FILTER = /^[0-9a-zA-Z._*-]{1,128}$/;
/** The resource tag whose value names a repository's owners, e.g. `#payments, @alice`. */
export const OWNERS_TAG = 'tagwarden:owners';

/** Index types first: without them ECR would not serve a multi-arch tag's index. */
const ACCEPTED = MANIFEST_ACCEPT.split(',').map((type) => type.trim());
/**
 * The values the BatchGetImage API reference lists for `acceptedMediaTypes` (it names no index
 * type). Used when ECR refuses ACCEPTED with InvalidParameterException, so a revert still works.
 */
export const DOCUMENTED_ACCEPTED = [
  'application/vnd.docker.distribution.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.v2+json',
  'application/vnd.oci.image.manifest.v1+json',
];
/** BatchGetImage `failures[].failureCode`s that mean "there is no such image". */
const NOT_FOUND = new Set(['ImageNotFound', 'ImageTagDoesNotMatchDigest']);
/** Failure codes worth retrying; anything else unknown is also retried (see errors.ts). */
const PERMANENT_FAILURES = new Set([
  'InvalidImageDigest',
  'InvalidImageTag',
  'MissingDigestAndTag',
  'ImageInaccessible',
  'UpstreamAccessDenied',
]);

export interface EcrRegistryOptions {
  client: ECRClient;
  /** Told when ECR makes the adapter fall back to the documented media types. */
  log?: Pick<Logger, 'warn'>;
  /** The account of the registry (the 12 digits of the registry host); the caller's own when left out. */
  registryId?: string;
  /**
   * Tags that must stay mutable when a repository is locked: the policy's `allow` tags as ECR
   * wildcards (`latest`, `dev-*`). Without it, lockTag refuses rather than freeze every tag.
   */
  mutableTagPatterns?: (repository: string) => string[];
}

/**
 * Amazon ECR through its API: BatchGetImage reads the exact manifest text, PutImage puts it back
 * under a tag (the revert), and a lock is the repository's tag immutability with exclusions for
 * the tags the policy lets float, since ECR locks per repository, not per tag.
 */
export class EcrRegistry implements RegistryClient {
  readonly kind = 'ecr';
  /** Set once ECR refused the index media types: later reads ask only for the documented ones. */
  private accepted: string[] = ACCEPTED;

  constructor(private readonly options: EcrRegistryOptions) {
    if (options.registryId !== undefined && !/^[0-9]{12}$/.test(options.registryId)) {
      throw new PermanentError(
        `ECR registryId ${JSON.stringify(options.registryId)} is not a 12-digit account`,
      );
    }
  }

  private get registry(): { registryId?: string } {
    return this.options.registryId ? { registryId: this.options.registryId } : {};
  }

  async currentDigest(repository: string, tag: string): Promise<Digest | null> {
    checkArguments(repositoryProblem(repository), tagProblem(tag));
    const image = await this.batchGetImage(repository, { imageTag: tag }, `${repository}:${tag}`);
    if (!image) return null;
    const digest = image.imageId?.imageDigest;
    if (!digest)
      throw new PermanentError(`BatchGetImage ${repository}:${tag}: ECR answered without a digest`);
    return servedDigest(digest, `BatchGetImage ${repository}:${tag}`, 'ECR');
  }

  async getManifest(repository: string, digest: Digest): Promise<Manifest | null> {
    checkArguments(repositoryProblem(repository), digestProblem(digest));
    const what = `${repository}@${digest}`;
    const image = await this.batchGetImage(repository, { imageDigest: digest }, what);
    if (!image) return null;
    if (typeof image.imageManifest !== 'string') {
      throw new PermanentError(`BatchGetImage ${what}: ECR answered without the manifest`);
    }
    // ECR returns the manifest's exact text: its digest is the one asked for, or something is wrong.
    const bytes = Buffer.from(image.imageManifest, 'utf8');
    return servedManifest(bytes, digest, image.imageManifestMediaType, `BatchGetImage ${what}`, 'ECR');
  }

  async putManifest(repository: string, tag: string, manifest: Manifest): Promise<Digest> {
    checkArguments(repositoryProblem(repository), tagProblem(tag), digestProblem(manifest.digest));
    const what = `${repository}:${tag}`;
    checkManifestToPut(manifest, `PutImage ${what}`);
    // PutImage takes the manifest as text; only bytes that are valid UTF-8 survive the trip unchanged.
    const text = manifest.bytes.toString('utf8');
    if (!Buffer.from(text, 'utf8').equals(manifest.bytes)) {
      throw new PermanentError(
        `PutImage ${what}: the manifest is not UTF-8 text, so ECR cannot store it as it is`,
      );
    }
    const put = async (): Promise<Digest> => {
      const answer = await this.options.client.send(
        new PutImageCommand({
          ...this.registry,
          repositoryName: repository,
          imageTag: tag,
          imageManifest: text,
          imageManifestMediaType: manifest.mediaType,
          imageDigest: manifest.digest,
        }),
      );
      const digest = answer.image?.imageId?.imageDigest;
      return digest ? servedDigest(digest, `PutImage ${what}`, 'ECR') : manifest.digest;
    };
    try {
      return await put();
    } catch (error) {
      const name = errorName(error);
      // "No changes to the manifest or image tag after the last push": the tag already names it.
      if (name === 'ImageAlreadyExistsException') return manifest.digest;
      if (name === 'ImageTagAlreadyExistsException') return this.putThroughLock(repository, tag, put);
      throw classify('PutImage', what, error);
    }
  }

  /**
   * A locked (immutable) repository refuses to put a tag back. As ACR unlocks a tag for the put and
   * locks it again, this tag alone is excluded for the put and the repository's setting restored
   * after it, put or not, so a revert never leaves the repository less locked than it found it.
   */
  private async putThroughLock(repository: string, tag: string, put: () => Promise<Digest>): Promise<Digest> {
    const refused = `PutImage ${repository}:${tag}: ImageTagAlreadyExistsException: the tag is immutable in ECR (the repository's tag immutability), so it cannot be put back`;
    const setting = await this.describeRepository(repository);
    const mode = setting?.imageTagMutability;
    if (mode !== 'IMMUTABLE' && mode !== 'IMMUTABLE_WITH_EXCLUSION') throw new PermanentError(refused);
    const kept = mode === 'IMMUTABLE' ? [] : filtersOf(setting);
    if (kept.length >= MAX_EXCLUSION_FILTERS)
      throw new PermanentError(
        `${refused}: its ${kept.length} exclusion filters leave no room to open the tag`,
      );
    const opened = await this.putMutability(repository, excluding([...kept, tag]));
    if (opened) throw new PermanentError(`${refused}: ${opened}`);
    let done: { digest: Digest } | { error: Error };
    try {
      done = { digest: await put() };
    } catch (error) {
      done = { error: classify('PutImage', `${repository}:${tag}`, error) };
    }
    const relock = kept.length === 0 ? { imageTagMutability: 'IMMUTABLE' as const } : excluding(kept);
    const relocked = await this.putMutability(repository, relock);
    if (relocked) throw new PermanentError(`${repository}:${tag} may be left mutable: ${relocked}`);
    if ('error' in done) throw done.error;
    return done.digest;
  }

  /**
   * ECR has no per-tag lock: the repository becomes IMMUTABLE_WITH_EXCLUSION, every tag immutable
   * except the policy's floating ones. A repository that is already stricter is left as it is, and
   * exclusion filters someone set by hand are kept.
   */
  async lockTag(repository: string, tag: string, digest: Digest): Promise<LockOutcome> {
    checkArguments(repositoryProblem(repository), tagProblem(tag), digestProblem(digest));
    if (!this.options.mutableTagPatterns) {
      return {
        locked: false,
        reason: `ECR locks a whole repository; without the policy's floating tags Tagwarden will not make every tag of ${repository} immutable`,
      };
    }
    if ((Mutability as Record<string, string>).IMMUTABLE_WITH_EXCLUSION !== 'IMMUTABLE_WITH_EXCLUSION') {
      return {
        locked: false,
        reason: `the installed @aws-sdk/client-ecr has no IMMUTABLE_WITH_EXCLUSION; ${repository} left unchanged`,
      };
    }
    const wanted = unique(this.options.mutableTagPatterns(repository));
    const invalid = wanted.filter((p) => !FILTER.test(p));
    if (invalid.length > 0) {
      return {
        locked: false,
        reason: `ECR exclusion filters allow only [0-9a-zA-Z._*-]{1,128}; the policy's allow patterns ${invalid.join(', ')} for ${repository} cannot be expressed`,
      };
    }
    if (wanted.length > MAX_EXCLUSION_FILTERS) return tooMany(repository, wanted, 'the policy has');

    const current = await this.describeRepository(repository);
    if (!current) return { locked: false, reason: `ECR has no repository ${repository}` };
    if (current.imageTagMutability === 'IMMUTABLE') return { locked: true };
    const kept = current.imageTagMutability === 'IMMUTABLE_WITH_EXCLUSION' ? filtersOf(current) : [];
    const filters = unique([...wanted, ...kept]);
    if (filters.length > MAX_EXCLUSION_FILTERS) {
      return tooMany(repository, filters, 'the policy and the filters already set on the repository need');
    }
    const floating = filters.find((f) => wildcardMatches(f, tag));
    if (floating) {
      return {
        locked: false,
        reason: `${repository}:${tag} matches the exclusion filter ${floating}, so ECR would keep it mutable`,
      };
    }
    if (current.imageTagMutability === 'IMMUTABLE_WITH_EXCLUSION' && wanted.every((w) => kept.includes(w))) {
      return { locked: true }; // already so
    }
    // Nothing may float in this repository: the plain setting says exactly that.
    const rejected = await this.putMutability(
      repository,
      filters.length === 0 ? { imageTagMutability: 'IMMUTABLE' } : excluding(filters),
    );
    return rejected ? { locked: false, reason: rejected } : { locked: true };
  }

  private sendBatchGetImage(repository: string, id: { imageTag: string } | { imageDigest: string }) {
    return this.options.client.send(
      new BatchGetImageCommand({
        ...this.registry,
        repositoryName: repository,
        imageIds: [id],
        acceptedMediaTypes: this.accepted,
      }),
    );
  }

  /** The one image BatchGetImage answers for `id`, or null when ECR has no such image or repository. */
  private async batchGetImage(
    repository: string,
    id: { imageTag: string } | { imageDigest: string },
    what: string,
  ): Promise<NonNullable<BatchGetImageCommandOutput['images']>[number] | null> {
    let answer: BatchGetImageCommandOutput;
    try {
      answer = await this.sendBatchGetImage(repository, id);
    } catch (error) {
      if (errorName(error) === 'RepositoryNotFoundException') return null;
      if (errorName(error) === 'InvalidParameterException' && this.accepted === ACCEPTED) {
        // The index types are not in the API reference's list; if ECR holds us to it, ask again with
        // the documented types (a multi-arch tag may then not be served as its index) and say so.
        this.accepted = DOCUMENTED_ACCEPTED;
        this.options.log?.warn(
          'ECR refused the OCI index and Docker manifest list media types in BatchGetImage; asking with the documented types only (multi-arch indexes may not be read)',
          { repository },
        );
        return this.batchGetImage(repository, id, what);
      }
      throw classify('BatchGetImage', what, error);
    }
    const image = answer?.images?.[0];
    if (image) return image;
    const failure = answer?.failures?.[0];
    const code = failure?.failureCode;
    if (!failure || (code && NOT_FOUND.has(code))) return null;
    const detail = `BatchGetImage ${what}: ${code ?? 'failure'}${failure.failureReason ? `: ${clip(failure.failureReason)}` : ''}`;
    throw code && PERMANENT_FAILURES.has(code) ? new PermanentError(detail) : new TransientError(detail);
  }

  private async describeRepository(repository: string) {
    try {
      const answer = await this.options.client.send(
        new DescribeRepositoriesCommand({ ...this.registry, repositoryNames: [repository] }),
      );
      return answer?.repositories?.[0] ?? null;
    } catch (error) {
      if (errorName(error) === 'RepositoryNotFoundException') return null;
      throw classify('DescribeRepositories', repository, error);
    }
  }

  /**
   * Sets the repository's tag mutability; null when done, or why ECR rejected the setting. An
   * endpoint that does not know IMMUTABLE_WITH_EXCLUSION answers InvalidParameterException: the
   * repository then stays as it was, never silently fully immutable.
   */
  private async putMutability(repository: string, setting: MutabilitySetting): Promise<string | null> {
    try {
      await this.options.client.send(
        new PutImageTagMutabilityCommand({ ...this.registry, repositoryName: repository, ...setting }),
      );
      return null;
    } catch (error) {
      const classified = classify('PutImageTagMutability', repository, error);
      if (errorName(error) !== 'InvalidParameterException') throw classified;
      return `ECR rejected ${setting.imageTagMutability} for ${repository} (${classified.message}); the repository was left as it was`;
    }
  }
}

/** The `tagwarden:owners` resource tag of a repository, e.g. `#payments, @alice` → ['#payments', '@alice']. */
export async function ownersFromRepositoryTags(client: ECRClient, repositoryArn: string): Promise<string[]> {
  if (!/^arn:aws[a-z-]*:ecr:[a-z0-9-]+:[0-9]{12}:repository\/.+$/.test(repositoryArn)) {
    throw new PermanentError(`${JSON.stringify(repositoryArn.slice(0, 200))} is not an ECR repository ARN`);
  }
  let answer: ListTagsForResourceCommandOutput;
  try {
    answer = await client.send(new ListTagsForResourceCommand({ resourceArn: repositoryArn }));
  } catch (error) {
    throw classify('ListTagsForResource', repositoryArn, error);
  }
  const value = answer?.tags?.find((t) => t.Key === OWNERS_TAG)?.Value ?? '';
  return unique(value.split(/[\s,]+/).filter(Boolean));
}

type MutabilitySetting = {
  imageTagMutability: 'IMMUTABLE' | 'IMMUTABLE_WITH_EXCLUSION';
  imageTagMutabilityExclusionFilters?: ImageTagMutabilityExclusionFilter[];
};

/** Every tag immutable except those the wildcard `filters` match. */
function excluding(filters: string[]): MutabilitySetting {
  return {
    imageTagMutability: 'IMMUTABLE_WITH_EXCLUSION',
    imageTagMutabilityExclusionFilters: filters.map((filter) => ({ filterType: 'WILDCARD', filter })),
  };
}

function filtersOf(
  setting: { imageTagMutabilityExclusionFilters?: ImageTagMutabilityExclusionFilter[] | undefined } | null,
) {
  return (setting?.imageTagMutabilityExclusionFilters ?? []).map((f) => f.filter ?? '').filter(Boolean);
}

function tooMany(repository: string, patterns: string[], who: string): LockOutcome {
  return {
    locked: false,
    reason: `ECR allows at most ${MAX_EXCLUSION_FILTERS} tag-mutability exclusion filters; ${who} ${patterns.length} allow patterns for ${repository}: ${patterns.join(', ')}`,
  };
}

/** ECR wildcards: `*` is any run of characters, everything else is literal. */
function wildcardMatches(filter: string, tag: string): boolean {
  const pattern = filter.split('*').map((part) => part.replace(/[.*+?^${}()|[\]\\-]/g, '\\$&'));
  return new RegExp(`^${pattern.join('.*')}$`).test(tag);
}

function unique(values: string[]): string[] {
  return [...new Set(values)];
}
