import { errorMessage, PermanentError, TransientError } from '../../core/errors';
import { retryAfterMs } from '../registry/oci-distribution';

/** Identity errors that no retry fixes: there is no credential, or it was refused. */
const CREDENTIAL_ERRORS = new Set([
  'CredentialUnavailableError',
  'AggregateAuthenticationError',
  'AuthenticationRequiredError',
]);

/**
 * 429, 5xx and network failures are retried; other 4xx, a refused or missing credential and a
 * digest mismatch fail at once. Anything else unknown is retried (see core/errors.ts).
 */
export function classifyAzureError(context: string, error: unknown): Error {
  if (error instanceof TransientError || error instanceof PermanentError) return error;
  const status = statusOf(error);
  const name = nameOf(error);
  const code = codeOf(error);
  const message = clip(errorMessage(error).split('\n')[0] ?? '');
  const detail = `${context}: ${status ? `HTTP ${status}` : name}${code ? ` (${code})` : ''}${message ? `: ${message}` : ''}`;
  if (status === 429 || (status !== undefined && status >= 500)) {
    return new TransientError(detail, retryAfterMs(headerOf(error, 'retry-after')));
  }
  if (status !== undefined && status >= 400) return new PermanentError(explain(status, detail));
  if (name === 'DigestMismatchError' || CREDENTIAL_ERRORS.has(name)) return new PermanentError(detail);
  if (name === 'AuthenticationError') return new PermanentError(explain(401, detail));
  return new TransientError(detail);
}

function explain(status: number, detail: string): string {
  if (status === 401 || status === 403) {
    return `${detail} (the identity Tagwarden runs as lacks the permission for this; see the README on Azure roles)`;
  }
  return detail;
}

export function statusOf(error: unknown): number | undefined {
  const status = field(error, 'statusCode');
  return typeof status === 'number' ? status : undefined;
}

function nameOf(error: unknown): string {
  const name = field(error, 'name');
  return typeof name === 'string' && name ? name : 'Error';
}

export function codeOf(error: unknown): string | undefined {
  // RestError.code is the transport's (ECONNREFUSED…) or the service's error code.
  const code = field(error, 'code');
  if (typeof code === 'string' && /^[A-Za-z0-9_.-]{1,64}$/.test(code)) return code;
  const details = field(error, 'details') as { errors?: Array<{ code?: unknown }> } | undefined;
  const first = details?.errors?.[0]?.code;
  return typeof first === 'string' && /^[A-Za-z0-9_.-]{1,64}$/.test(first) ? first : undefined;
}

function headerOf(error: unknown, name: string): string | null {
  const response = field(error, 'response') as { headers?: { get?: (n: string) => string | undefined } };
  const value = response?.headers?.get?.(name);
  return typeof value === 'string' ? value : null;
}

function field(error: unknown, key: string): unknown {
  return typeof error === 'object' && error !== null ? (error as Record<string, unknown>)[key] : undefined;
}

function clip(text: string): string {
  return text.length > 300 ? `${text.slice(0, 297)}...` : text;
}
