import { createHash } from 'node:crypto';
import type { LockOutcome, Manifest, RegistryClient } from '../../shared/adapters/registry/port';
import { type Digest, PermanentError } from '../../shared/core';

export type RegistryMethod = 'currentDigest' | 'getManifest' | 'putManifest' | 'lockTag';

export interface RegistryCall {
  method: RegistryMethod;
  args: unknown[];
}

type Hook = (...args: unknown[]) => void | Promise<void>;

interface Failure {
  error: Error;
  remaining: number;
  when: ((...args: unknown[]) => boolean) | null;
}

export interface FakeRegistryOptions {
  kind?: string;
  /** Whether `lockTag` can lock; when not, it answers `{ locked: false, reason }`. */
  lockSupported?: boolean;
  lockUnsupportedReason?: string;
}

export const OCI_MANIFEST_TYPE = 'application/vnd.oci.image.manifest.v1+json';

/** A manifest whose bytes derive from `seed` and whose digest is the real sha256 of those bytes. */
export function manifestFor(seed: string): Manifest {
  const bytes = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST_TYPE,
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha256(seed), size: 2 },
      layers: [],
      annotations: { 'test.seed': seed },
    }),
  );
  return { bytes, mediaType: OCI_MANIFEST_TYPE, digest: sha256(bytes) };
}

function sha256(data: string | Buffer): Digest {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

/**
 * An in-memory registry for unit tests: manifests by digest, tags by `repo:tag`, a log of every call
 * the code under test made, programmable failures and hooks that run inside a call. A locked tag
 * refuses `putManifest`, as real registries refuse a push to a locked tag.
 */
export class FakeRegistry implements RegistryClient {
  readonly kind: string;
  readonly manifests = new Map<Digest, Manifest>();
  readonly tags = new Map<string, Digest>();
  readonly locks = new Map<string, Digest>();
  readonly calls: RegistryCall[] = [];
  /** Runs inside a call, after it is logged and before it acts (e.g. to capture store state). */
  readonly hooks: Partial<Record<RegistryMethod, Hook>> = {};
  lockSupported: boolean;
  lockUnsupportedReason: string;
  private readonly failures = new Map<RegistryMethod, Failure[]>();

  constructor(options: FakeRegistryOptions = {}) {
    this.kind = options.kind ?? 'fake';
    this.lockSupported = options.lockSupported ?? true;
    this.lockUnsupportedReason = options.lockUnsupportedReason ?? 'this registry cannot lock tags';
  }

  // --- helpers for tests (not logged in `calls`) ---

  /** Stores a manifest made from `seed` and points `repo:tag` at it, as a `docker push` would. */
  push(repository: string, tag: string, seed: string): Manifest {
    if (this.locks.has(tagKey(repository, tag)))
      throw new Error(`${repository}:${tag} is locked; unlock it first`);
    const manifest = manifestFor(seed);
    this.manifests.set(manifest.digest, manifest);
    this.tags.set(tagKey(repository, tag), manifest.digest);
    return manifest;
  }

  tagOf(repository: string, tag: string): Digest | undefined {
    return this.tags.get(tagKey(repository, tag));
  }

  setTag(repository: string, tag: string, digest: Digest): void {
    this.tags.set(tagKey(repository, tag), digest);
  }

  /** Lifts a tag's lock, as someone with rights on the registry can. */
  unlock(repository: string, tag: string): void {
    this.locks.delete(tagKey(repository, tag));
  }

  /** Removes a manifest, as garbage collection or a retention rule would. */
  forgetManifest(digest: Digest): void {
    this.manifests.delete(digest);
  }

  callsOf(method: RegistryMethod): unknown[][] {
    return this.calls.filter((c) => c.method === method).map((c) => c.args);
  }

  /** Makes the next `times` calls of `method` (those matching `when`, if given) throw `error`. */
  failNext(
    method: RegistryMethod,
    error: Error,
    options: { times?: number; when?: (...args: unknown[]) => boolean } = {},
  ): void {
    const list = this.failures.get(method) ?? [];
    list.push({ error, remaining: options.times ?? 1, when: options.when ?? null });
    this.failures.set(method, list);
  }

  // --- RegistryClient ---

  async currentDigest(repository: string, tag: string): Promise<Digest | null> {
    await this.enter('currentDigest', [repository, tag]);
    return this.tags.get(tagKey(repository, tag)) ?? null;
  }

  async getManifest(repository: string, digest: Digest): Promise<Manifest | null> {
    await this.enter('getManifest', [repository, digest]);
    const manifest = this.manifests.get(digest);
    return manifest ? { ...manifest, bytes: Buffer.from(manifest.bytes) } : null;
  }

  async putManifest(repository: string, tag: string, manifest: Manifest): Promise<Digest> {
    await this.enter('putManifest', [repository, tag, manifest]);
    // As a registry refuses a push to a locked tag (ACR's writeEnabled: false, an immutable ECR tag).
    if (this.locks.has(tagKey(repository, tag)))
      throw new PermanentError(`${repository}:${tag} is locked; the registry refuses to put it`);
    const digest = sha256(manifest.bytes);
    this.manifests.set(digest, { bytes: Buffer.from(manifest.bytes), mediaType: manifest.mediaType, digest });
    this.tags.set(tagKey(repository, tag), digest);
    return digest;
  }

  async lockTag(repository: string, tag: string, digest: Digest): Promise<LockOutcome> {
    await this.enter('lockTag', [repository, tag, digest]);
    if (!this.lockSupported) return { locked: false, reason: this.lockUnsupportedReason };
    // As the ACR adapter does: never lock a tag onto an image it no longer serves.
    const serves = this.tags.get(tagKey(repository, tag));
    if (serves !== digest)
      return {
        locked: false,
        reason: `${repository}:${tag} serves ${serves ?? 'nothing'} now, not ${digest}`,
      };
    this.locks.set(tagKey(repository, tag), digest);
    return { locked: true };
  }

  private async enter(method: RegistryMethod, args: unknown[]): Promise<void> {
    this.calls.push({ method, args });
    await this.hooks[method]?.(...args);
    const list = this.failures.get(method) ?? [];
    const failure = list.find((f) => f.remaining > 0 && (f.when === null || f.when(...args)));
    if (failure) {
      failure.remaining -= 1;
      throw failure.error;
    }
  }
}

function tagKey(repository: string, tag: string): string {
  return `${repository}:${tag}`;
}
