import { createHash, timingSafeEqual } from 'node:crypto';

/** How a source proves itself: a static token in a header (Bearer by default). */
export interface TokenCheck {
  token: string;
  /** Header carrying the token; `authorization` expects `Bearer <token>`. */
  header: string;
}

export type AuthResult = { ok: true } | { ok: false; reason: string };

/**
 * Checks a request's credentials on the raw headers, before the body is parsed. Compares SHA-256
 * digests of both values with timingSafeEqual, so the comparison takes the same time whatever the
 * length or content of what was sent. The reason never reveals the expected token.
 */
export function checkToken(
  check: TokenCheck,
  headers: Record<string, string | string[] | undefined>,
): AuthResult {
  const name = check.header.toLowerCase();
  const raw = headers[name];
  const value = Array.isArray(raw) ? raw[0] : raw;
  if (value === undefined || value === '') return { ok: false, reason: `missing ${check.header} header` };
  const presented = name === 'authorization' ? bearerToken(value) : value;
  if (presented === null) return { ok: false, reason: 'Authorization header is not a Bearer token' };
  return constantTimeEqual(presented, check.token)
    ? { ok: true }
    : { ok: false, reason: 'invalid credentials' };
}

function bearerToken(value: string): string | null {
  const match = /^Bearer\s+(.+)$/i.exec(value.trim());
  return match ? match[1]! : null;
}

export function constantTimeEqual(a: string, b: string): boolean {
  const da = createHash('sha256').update(a).digest();
  const db = createHash('sha256').update(b).digest();
  return timingSafeEqual(da, db);
}
