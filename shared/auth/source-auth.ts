import { createHmac } from 'node:crypto';
import type { SourceAuthRules } from '../sources/types';
import { type AuthResult, checkToken, constantTimeEqual } from './webhook-auth';

/** What a source's config says about authenticating it (`sources.<name>` in the config file). */
export interface SourceAuthConfig {
  /** A shared token: in a header for sources that can send one, in the URL's `token` query parameter otherwise. */
  token?: string | undefined;
  /** Where the token travels instead of the source's default (a header name). */
  header?: string | undefined;
  /** An HMAC-SHA256 key: the source signs the raw body (GitHub, JFrog). */
  secret?: string | undefined;
  /** Accept requests without credentials (`open: true`, said as a warning at start); only where the runtime allows it. */
  open?: boolean | undefined;
  /** The registry hosts (`host[:port]`) this source may report; unset: every host but another cloud registry's. */
  registries?: readonly string[] | undefined;
}

/** Whether a source's settings carry a token or a signing secret. */
export function hasCredentials(config: SourceAuthConfig | null): boolean {
  return Boolean(config?.token || config?.secret);
}

export interface AuthRequest {
  headers: Record<string, string | string[] | undefined>;
  query: URLSearchParams;
  rawBody: Buffer;
}

/**
 * Authenticates one webhook request on its raw bytes and headers, before anything is parsed, by the
 * rules its source declares (where the token travels, which header carries the signature).
 * A source without token or secret is accepted only when it is explicitly `open`; otherwise it is
 * refused, whatever is sent. Every comparison is constant-time; no reason reveals what was expected.
 */
export function authenticateSource(
  rules: SourceAuthRules,
  config: SourceAuthConfig,
  request: AuthRequest,
): AuthResult {
  if (!hasCredentials(config))
    return config.open === true
      ? { ok: true }
      : { ok: false, reason: 'no token or secret is configured for this source' };
  if (config.secret) {
    const result = checkSignature(rules.signature, config.secret, request);
    if (!result.ok) return result;
  }
  if (config.token) {
    if (!config.header && rules.token.in === 'query') {
      const presented = request.query.get('token');
      if (presented === null || presented === '')
        return { ok: false, reason: 'missing token query parameter' };
      return constantTimeEqual(presented, config.token)
        ? { ok: true }
        : { ok: false, reason: 'invalid credentials' };
    }
    const header = config.header ?? (rules.token.in === 'header' ? rules.token.header : 'Authorization');
    return checkToken({ token: config.token, header }, request.headers);
  }
  return { ok: true };
}

function checkSignature(
  { header, prefix }: SourceAuthRules['signature'],
  secret: string,
  request: AuthRequest,
): AuthResult {
  const raw = request.headers[header];
  const value = (Array.isArray(raw) ? raw[0] : raw)?.trim();
  if (!value) return { ok: false, reason: `missing ${header} signature header` };
  const presented = prefix && value.toLowerCase().startsWith(prefix) ? value.slice(prefix.length) : value;
  const expected = createHmac('sha256', secret).update(request.rawBody).digest('hex');
  return constantTimeEqual(presented.toLowerCase(), expected)
    ? { ok: true }
    : { ok: false, reason: 'invalid signature' };
}
