import { createHmac } from 'node:crypto';
import { type AuthResult, checkToken, constantTimeEqual } from './webhook-auth';

/** What a source's config says about authenticating it (`sources.<name>` in the config file). */
export interface SourceAuthConfig {
  /** A shared token: in a header for sources that can send one, in the URL's `token` query parameter otherwise. */
  token?: string | undefined;
  /** Where the token travels instead of the source's default (a header name). */
  header?: string | undefined;
  /** An HMAC-SHA256 key: the source signs the raw body (GitHub, JFrog). */
  secret?: string | undefined;
}

export interface AuthRequest {
  headers: Record<string, string | string[] | undefined>;
  query: URLSearchParams;
  rawBody: Buffer;
}

/**
 * Registries that cannot add a header to their webhook call carry the token in the URL instead
 * (`https://tagwarden.example.com/webhooks/dockerhub?token=…`).
 */
const TOKEN_IN_QUERY = new Set(['dockerhub', 'quay', 'acr-eventgrid', 'gar']);

/** The header that carries a body signature, and its prefix, for sources that sign. */
const SIGNATURE_HEADER: Record<string, { header: string; prefix: string }> = {
  ghcr: { header: 'x-hub-signature-256', prefix: 'sha256=' },
  artifactory: { header: 'x-jfrog-event-auth', prefix: '' },
};

export function tokenTravelsInQuery(source: string): boolean {
  return TOKEN_IN_QUERY.has(source);
}

export function signatureHeaderOf(source: string): string {
  return (SIGNATURE_HEADER[source] ?? { header: 'x-hub-signature-256' }).header;
}

/**
 * Authenticates one webhook request on its raw bytes and headers, before anything is parsed.
 * A source with neither token nor secret configured is accepted (and `serve` says so at start).
 * Every comparison is constant-time; no reason reveals what was expected.
 */
export function authenticateSource(
  source: string,
  config: SourceAuthConfig | null,
  request: AuthRequest,
): AuthResult {
  if (!config || (!config.token && !config.secret)) return { ok: true };
  if (config.secret) {
    const result = checkSignature(source, config.secret, request);
    if (!result.ok) return result;
  }
  if (config.token) {
    if (!config.header && tokenTravelsInQuery(source)) {
      const presented = request.query.get('token');
      if (presented === null || presented === '')
        return { ok: false, reason: 'missing token query parameter' };
      return constantTimeEqual(presented, config.token)
        ? { ok: true }
        : { ok: false, reason: 'invalid credentials' };
    }
    // JFrog sends its secret token as is in X-JFrog-Event-Auth.
    const header = config.header ?? (source === 'artifactory' ? 'X-JFrog-Event-Auth' : 'Authorization');
    return checkToken({ token: config.token, header }, request.headers);
  }
  return { ok: true };
}

function checkSignature(source: string, secret: string, request: AuthRequest): AuthResult {
  const { header, prefix } = SIGNATURE_HEADER[source] ?? { header: 'x-hub-signature-256', prefix: 'sha256=' };
  const raw = request.headers[header];
  const value = (Array.isArray(raw) ? raw[0] : raw)?.trim();
  if (!value) return { ok: false, reason: `missing ${header} signature header` };
  const presented = prefix && value.toLowerCase().startsWith(prefix) ? value.slice(prefix.length) : value;
  const expected = createHmac('sha256', secret).update(request.rawBody).digest('hex');
  return constantTimeEqual(presented.toLowerCase(), expected)
    ? { ok: true }
    : { ok: false, reason: 'invalid signature' };
}
