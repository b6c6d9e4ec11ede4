import { createHash } from 'node:crypto';
import { type Digest, digestProblem, PermanentError } from '../../core';
import type { Manifest } from './port';

// What every registry adapter does with manifest bytes and the names it is given, in one place.

/** The digest of the bytes, with the algorithm `expected` names (sha256 unless it says sha512). */
export function digestOfBytes(bytes: Buffer, expected?: Digest): Digest {
  const algorithm = expected?.startsWith('sha512:') ? 'sha512' : 'sha256';
  return `${algorithm}:${createHash(algorithm).update(bytes).digest('hex')}`;
}

/** Falls back to the manifest's own `mediaType` field when the registry names no media type. */
export function mediaTypeOf(bytes: Buffer): string | null {
  try {
    const parsed = JSON.parse(bytes.toString('utf8')) as { mediaType?: unknown };
    return typeof parsed.mediaType === 'string' ? parsed.mediaType : null;
  } catch {
    return null;
  }
}

/** Arguments are validated before any call: a bad name never reaches the registry. */
export function checkArguments(...problems: (string | null)[]): void {
  const problem = problems.find((p) => p !== null);
  if (problem) throw new PermanentError(problem);
}

/** A digest the registry answered with, checked: `what` names the call, `registry` the service. */
export function servedDigest(digest: string, what: string, registry: string): Digest {
  const problem = digestProblem(digest);
  if (problem) throw new PermanentError(`${what}: ${registry} answered with ${problem}`);
  return digest;
}

/**
 * A manifest as a registry served it, held to the digest asked for: bytes with another digest are
 * refused, and the media type is the one the registry named (parameters dropped) or the manifest's own.
 * `what` names the call, `registry` the service.
 */
export function servedManifest(
  bytes: Buffer,
  digest: Digest,
  servedMediaType: string | null | undefined,
  what: string,
  registry: string,
): Manifest {
  const actual = digestOfBytes(bytes, digest);
  if (actual !== digest)
    throw new PermanentError(
      `${what}: ${registry} served a manifest whose digest is ${actual}, not ${digest}`,
    );
  const mediaType = servedMediaType?.split(';')[0]?.trim() || mediaTypeOf(bytes);
  if (!mediaType) throw new PermanentError(`${what}: ${registry} sent no media type for the manifest`);
  return { bytes, mediaType, digest };
}

/** Refuses, before any call, to put bytes that are not the manifest they claim to be. */
export function checkManifestToPut(manifest: Manifest, what: string): void {
  const computed = digestOfBytes(manifest.bytes, manifest.digest);
  if (computed !== manifest.digest)
    throw new PermanentError(
      `${what}: manifest bytes have digest ${computed}, not the stated ${manifest.digest}; refusing to put`,
    );
}
