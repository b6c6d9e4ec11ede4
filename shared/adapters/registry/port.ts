import type { Digest } from '../../core';

export interface Manifest {
  /** The exact bytes the registry serves; re-put as they are, so the digest stays the same. */
  bytes: Buffer;
  mediaType: string;
  digest: Digest;
}

export type LockOutcome = { locked: true } | { locked: false; reason: string };

/**
 * What Tagwarden needs of a registry to verify and act. Methods throw TransientError (network,
 * 5xx, 429) or PermanentError (4xx other than 404, bad data); a missing tag or manifest is `null`.
 */
export interface RegistryClient {
  /** A short name for messages: `oci-distribution`, `ecr`, `acr`. */
  readonly kind: string;
  /** The digest the tag serves now, or null when the tag does not exist. */
  currentDigest(repository: string, tag: string): Promise<Digest | null>;
  /** A manifest by digest, or null when it no longer exists. */
  getManifest(repository: string, digest: Digest): Promise<Manifest | null>;
  /** Puts a manifest's exact bytes under a tag; returns the digest the registry computed. */
  putManifest(repository: string, tag: string, manifest: Manifest): Promise<Digest>;
  /** Locks the tag against overwrite where the registry can; says why not where it cannot. */
  lockTag(repository: string, tag: string, digest: Digest): Promise<LockOutcome>;
}

/** Finds the client for a registry host from configuration; null when none is configured. */
export type RegistryResolver = (registryHost: string) => RegistryClient | null;
