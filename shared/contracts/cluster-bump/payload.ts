import * as z from 'zod';
import { type AuthResult, constantTimeEqual } from '../../auth/webhook-auth';
import { digestProblem, hostProblem, repositoryProblem, tagProblem } from '../../core';
import { SIGNATURE_HEADER, signBody } from './signature';

export { SIGNATURE_HEADER, signBody, TIMESTAMP_HEADER } from './signature';

/**
 * The cluster endpoint contract of DESIGN.md ("digest bump"): what Tagwarden POSTs to a cluster when
 * the digest a tag serves changes, and how the receiver proves it came from us. It lives in a room of
 * its own because both sides use it: the sender (`shared/adapters/cluster`) and the in-cluster agent
 * (`shared/agent`), neither of which may import the other.
 */
export const DigestBump = z
  .object({
    /** Unique per bump (the effect key): receivers use it to refuse replays. */
    id: z.string().min(1).max(512),
    registryHost: grammar(hostProblem),
    repository: grammar(repositoryProblem),
    tag: grammar(tagProblem),
    previousDigest: grammar(digestProblem).nullable(),
    digest: grammar(digestProblem),
    reason: z.enum(['moved', 'reverted']),
    /** RFC 3339, the moment the call was signed; equals the timestamp header. */
    timestamp: z.string().min(1).max(64),
  })
  .strict();
export type DigestBump = z.infer<typeof DigestBump>;

function grammar(problem: (value: string) => string | null) {
  return z.string().superRefine((value, context) => {
    const reason = problem(value);
    if (reason) context.addIssue({ code: 'custom', message: reason });
  });
}

/** Checks a `sha256=<hex>` signature over the exact bytes received, in constant time. */
export function verifyBodySignature(secret: string, body: Buffer, header: string | undefined): AuthResult {
  const value = header?.trim();
  if (!value) return { ok: false, reason: `missing ${SIGNATURE_HEADER} header` };
  if (!value.toLowerCase().startsWith('sha256='))
    return { ok: false, reason: 'signature is not sha256=<hex>' };
  return constantTimeEqual(value.toLowerCase(), signBody(secret, body))
    ? { ok: true }
    : { ok: false, reason: 'invalid signature' };
}
