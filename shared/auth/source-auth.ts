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

/** What can be checked before any body byte is read: headers and the URL's query string. */
export type AuthHeaders = Omit<AuthRequest, 'rawBody'>;

/**
 * The part of authentication that needs no body: a configured token (header or query) is checked,
 * and a configured signature must at least be present. `needsBody` says whether the signature over
 * the raw bytes remains to be verified, so an edge reads the body only for a request that passed this.
 */
export function authenticateHeaders(
  rules: SourceAuthRules,
  config: SourceAuthConfig | null,
  request: AuthHeaders,
): AuthResult & { needsBody?: boolean } {
  if (!config || !hasCredentials(config))
    return config?.open === true
      ? { ok: true }
      : { ok: false, reason: 'no token or secret is configured for this source' };
  if (config.secret) {
    const header = rules.signature.header;
    if (!firstValue(request.headers[header])?.trim())
      return { ok: false, reason: `missing ${header} signature header` };
  }
  if (config.token) {
    const token = checkConfiguredToken(rules, config as SourceAuthConfig & { token: string }, request);
    if (!token.ok) return token;
  }
  return { ok: true, needsBody: Boolean(config.secret) };
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
  const headers = authenticateHeaders(rules, config, request);
  if (!headers.ok || !headers.needsBody || !config.secret) return headers.ok ? { ok: true } : headers;
  return checkSignature(rules.signature, config.secret, request);
}

/**
 * What remains after `authenticateHeaders` passed: the signature over the raw bytes, when the source
 * is configured with a secret. The header checks are not repeated.
 */
export function verifyBodySignature(
  rules: SourceAuthRules,
  config: SourceAuthConfig,
  request: AuthRequest,
): AuthResult {
  return config.secret ? checkSignature(rules.signature, config.secret, request) : { ok: true };
}

function checkConfiguredToken(
  rules: SourceAuthRules,
  config: SourceAuthConfig & { token: string },
  request: AuthHeaders,
): AuthResult {
  if (!config.header && rules.token.in === 'query') {
    const presented = request.query.get('token');
    if (presented === null || presented === '') return { ok: false, reason: 'missing token query parameter' };
    return constantTimeEqual(presented, config.token)
      ? { ok: true }
      : { ok: false, reason: 'invalid credentials' };
  }
  const header = config.header ?? (rules.token.in === 'header' ? rules.token.header : 'Authorization');
  return checkToken({ token: config.token, header }, request.headers);
}

function firstValue(raw: string | string[] | undefined): string | undefined {
  return Array.isArray(raw) ? raw[0] : raw;
}

function checkSignature(
  { header, prefix }: SourceAuthRules['signature'],
  secret: string,
  request: AuthRequest,
): AuthResult {
  const value = firstValue(request.headers[header])?.trim();
  if (!value) return { ok: false, reason: `missing ${header} signature header` };
  const presented = prefix && value.toLowerCase().startsWith(prefix) ? value.slice(prefix.length) : value;
  const expected = createHmac('sha256', secret).update(request.rawBody).digest('hex');
  return constantTimeEqual(presented.toLowerCase(), expected)
    ? { ok: true }
    : { ok: false, reason: 'invalid signature' };
}
