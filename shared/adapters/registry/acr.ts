import {
  ContainerRegistryClient,
  ContainerRegistryContentClient,
  type ContainerRegistryContentClientOptions,
} from '@azure/container-registry';
import type { TokenCredential } from '@azure/identity';
import { type Digest, digestProblem, PermanentError, repositoryProblem, tagProblem } from '../../core';
import { classifyAzureError, statusOf } from '../azure/errors';
import { azureEndpoint } from '../azure/loopback';
import { checkArguments, checkManifestToPut, servedDigest, servedManifest } from './manifest-bytes';
import type { LockOutcome, Manifest, RegistryClient } from './port';

export interface AcrRegistryOptions {
  /** The registry's login server, e.g. `myregistry.azurecr.io`. */
  loginServer: string;
  /** Whose token is exchanged for an ACR token (the Function's managed identity in Azure). */
  credential: TokenCredential;
  /** Overrides `https://<loginServer>`; tests use a stand-in on `http://127.0.0.1:<port>`. */
  endpoint?: string;
  /** Allows a plain-http endpoint, on loopback only (see azure/loopback.ts). */
  allowInsecureConnection?: boolean;
  /**
   * What the Entra ID token is asked for before the exchange: the SDK's default is the public
   * cloud's; national clouds need theirs (see azure/cloud.ts, derived from the login server).
   */
  audience?: string;
  /** Per call, token exchange included; default 10 s. A hung call would outlive the effect's lease. */
  timeoutMs?: number;
}

/** ACR answers 404 (TAG_UNKNOWN, MANIFEST_UNKNOWN, NAME_UNKNOWN) for what does not exist. */
const STATUS_NOT_FOUND = 404;

/**
 * Azure Container Registry through its data-plane API. ACR locks per tag and per manifest
 * (`writeEnabled`/`deleteEnabled`), so a lock freezes exactly the tag and keeps the image it
 * serves from deletion; a revert re-puts the previous manifest's exact bytes.
 */
export class AcrRegistry implements RegistryClient {
  readonly kind = 'acr';
  private readonly properties: ContainerRegistryClient;
  private readonly content = new Map<string, ContainerRegistryContentClient>();
  private readonly endpoint: string;
  private readonly clientOptions: ContainerRegistryContentClientOptions;

  constructor(private readonly options: AcrRegistryOptions) {
    if (!/^[a-z0-9][a-z0-9.-]*[a-z0-9](:[0-9]{1,5})?$/i.test(options.loginServer)) {
      throw new PermanentError(
        `ACR login server ${JSON.stringify(options.loginServer.slice(0, 200))} is not a host name like myregistry.azurecr.io`,
      );
    }
    const setup = azureEndpoint(
      options.endpoint ?? `https://${options.loginServer}`,
      options.allowInsecureConnection ?? false,
    );
    this.endpoint = setup.endpoint;
    // The SDK's own retries would hide a 429 or 503 from the outbox, which retries with backoff.
    this.clientOptions = {
      additionalPolicies: setup.additionalPolicies,
      retryOptions: { maxRetries: 0 },
      ...(options.audience ? { audience: options.audience } : {}),
    };
    this.properties = new ContainerRegistryClient(this.endpoint, options.credential, this.clientOptions);
  }

  async currentDigest(repository: string, tag: string): Promise<Digest | null> {
    checkArguments(repositoryProblem(repository), tagProblem(tag));
    const what = `${repository}:${tag}`;
    const properties = await this.tagProperties(repository, tag);
    return properties ? servedDigest(properties.digest, `GET tag ${what}`, 'ACR') : null;
  }

  async getManifest(repository: string, digest: Digest): Promise<Manifest | null> {
    checkArguments(repositoryProblem(repository), digestProblem(digest));
    const what = `${repository}@${digest}`;
    if (!digest.startsWith('sha256:')) {
      throw new PermanentError(`GET manifest ${what}: ACR addresses manifests by sha256 digests only`);
    }
    let answer: Awaited<ReturnType<ContainerRegistryContentClient['getManifest']>>;
    try {
      answer = await this.contentClient(repository).getManifest(digest, this.deadline());
    } catch (error) {
      if (statusOf(error) === STATUS_NOT_FOUND) return null;
      throw this.classify('GET manifest', what, error);
    }
    // The SDK checks the digest too; checking here keeps the promise whatever the SDK version.
    const bytes = Buffer.from(answer.content);
    return servedManifest(bytes, digest, answer.mediaType, `GET manifest ${what}`, 'ACR');
  }

  /**
   * Puts the exact bytes under the tag. A write-locked tag (locked by hand, or by us before an
   * overwrite slipped through) is unlocked for the put and locked again right after, whether the
   * put worked or not, so a revert never leaves a tag less protected than it found it.
   */
  async putManifest(repository: string, tag: string, manifest: Manifest): Promise<Digest> {
    checkArguments(repositoryProblem(repository), tagProblem(tag), digestProblem(manifest.digest));
    const what = `${repository}:${tag}`;
    checkManifestToPut(manifest, `PUT manifest ${what}`);
    const before = await this.tagProperties(repository, tag);
    const relock = before?.canWrite === false;
    if (relock) await this.setTagWritable(repository, tag, true);
    try {
      let stored: string;
      try {
        const answer = await this.contentClient(repository).setManifest(manifest.bytes, {
          tag,
          mediaType: manifest.mediaType,
          ...this.deadline(),
        });
        stored = answer.digest;
      } catch (error) {
        throw this.classify('PUT manifest', what, error);
      }
      const digest = servedDigest(stored, `PUT manifest ${what}`, 'ACR');
      if (digest !== manifest.digest) {
        throw new PermanentError(
          `PUT manifest ${what}: ACR stored the manifest as ${digest}, not ${manifest.digest}`,
        );
      }
      return digest;
    } finally {
      if (relock) await this.setTagWritable(repository, tag, false);
    }
  }

  /**
   * Verify, lock, verify again: the tag is locked only while it still serves `digest`. Should it
   * move between the first read and the lock, the lock is taken back and nothing stays locked on
   * the wrong image. The manifest gets `deleteEnabled: false` so the image a locked tag serves
   * cannot be deleted (or swept by a retention policy) under it; its `writeEnabled` stays as it is,
   * so the image can still be tagged, e.g. with a `tagwarden-keep-…` tag.
   */
  async lockTag(repository: string, tag: string, digest: Digest): Promise<LockOutcome> {
    checkArguments(repositoryProblem(repository), tagProblem(tag), digestProblem(digest));
    const what = `${repository}:${tag}`;
    const before = await this.tagProperties(repository, tag);
    if (!before) return { locked: false, reason: `ACR has no tag ${what}` };
    if (before.digest !== digest) {
      return {
        locked: false,
        reason: `${what} serves ${before.digest} now, not ${digest}; nothing was locked`,
      };
    }
    try {
      await this.properties.getArtifact(repository, tag).updateTagProperties(tag, {
        canWrite: false,
        canDelete: false,
        ...this.deadline(),
      });
    } catch (error) {
      throw this.classify('PATCH tag', what, error);
    }
    const after = await this.tagProperties(repository, tag);
    if (after?.digest !== digest) {
      if (after)
        await this.setTagWritable(repository, tag, before.canWrite ?? true, before.canDelete ?? true);
      return {
        locked: false,
        reason: `${what} moved to ${after?.digest ?? 'nothing'} while it was being locked; the lock was taken back`,
      };
    }
    try {
      await this.properties
        .getArtifact(repository, digest)
        .updateManifestProperties({ canDelete: false, ...this.deadline() });
    } catch (error) {
      throw this.classify('PATCH manifest', `${repository}@${digest}`, error);
    }
    return { locked: true };
  }

  /** The digest and lock state of a tag, or null when the tag or repository does not exist. */
  private async tagProperties(
    repository: string,
    tag: string,
  ): Promise<{ digest: string; canWrite: boolean | undefined; canDelete: boolean | undefined } | null> {
    try {
      const properties = await this.properties
        .getArtifact(repository, tag)
        .getTagProperties(tag, this.deadline());
      return { digest: properties.digest, canWrite: properties.canWrite, canDelete: properties.canDelete };
    } catch (error) {
      if (statusOf(error) === STATUS_NOT_FOUND) return null;
      throw this.classify('GET tag', `${repository}:${tag}`, error);
    }
  }

  private async setTagWritable(repository: string, tag: string, canWrite: boolean, canDelete?: boolean) {
    try {
      await this.properties.getArtifact(repository, tag).updateTagProperties(tag, {
        canWrite,
        ...(canDelete === undefined ? {} : { canDelete }),
        ...this.deadline(),
      });
    } catch (error) {
      throw this.classify('PATCH tag', `${repository}:${tag}`, error);
    }
  }

  private deadline(): { abortSignal: AbortSignal } {
    return { abortSignal: AbortSignal.timeout(this.options.timeoutMs ?? 10_000) };
  }

  private contentClient(repository: string): ContainerRegistryContentClient {
    let client = this.content.get(repository);
    if (!client) {
      client = new ContainerRegistryContentClient(
        this.endpoint,
        repository,
        this.options.credential,
        this.clientOptions,
      );
      this.content.set(repository, client);
    }
    return client;
  }

  private classify(operation: string, what: string, error: unknown): Error {
    return classifyAzureError(`${operation} ${what} at ACR ${this.options.loginServer}`, error);
  }
}
