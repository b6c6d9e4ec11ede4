import { createHash } from 'node:crypto';
import { type Digest, digestProblem, PermanentError } from '../../core';

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
