import { PermanentError, TransientError } from '../../core';

// How ECR's errors are classified: what the queue retries and what fails at once, in one place.

const TRANSIENT = new Set([
  'ThrottlingException',
  'ThrottledException',
  'ServerException',
  'ServiceUnavailable',
  'ServiceUnavailableException',
  'TooManyRequests',
  'TooManyRequestsException',
  'InternalFailure',
  'InternalServerError',
  'RequestTimeout',
  'RequestTimeoutException',
  'TimeoutError',
]);

const PERMANENT = new Set([
  'AccessDeniedException',
  'InvalidParameterException',
  'LimitExceededException',
  'ValidationException',
  'RepositoryNotFoundException',
  'ImageDigestDoesNotMatchException',
  'LayersNotFoundException',
  'ReferencedImagesNotFoundException',
  'UnrecognizedClientException',
  'InvalidSignatureException',
]);

/** The AWS SDK error's name (`ThrottlingException`…), or `Error`. */
export function errorName(error: unknown): string {
  const name = typeof error === 'object' && error !== null ? (error as { name?: unknown }).name : undefined;
  return typeof name === 'string' && name.length > 0 ? name : 'Error';
}

/** Throttling, 5xx, 429 and network failures are retried; other 4xx fail at once. */
export function classify(operation: string, what: string, error: unknown): Error {
  if (error instanceof TransientError || error instanceof PermanentError) return error;
  const name = errorName(error);
  const meta =
    typeof error === 'object' && error !== null
      ? (error as { $metadata?: { httpStatusCode?: number } }).$metadata
      : undefined;
  const status = meta?.httpStatusCode;
  const message = error instanceof Error ? clip(error.message) : '';
  const detail = `${operation} ${what}: ${name}${status ? ` (HTTP ${status})` : ''}${message && message !== name ? `: ${message}` : ''}`;
  if (TRANSIENT.has(name)) return new TransientError(detail);
  if (PERMANENT.has(name)) return new PermanentError(detail);
  if (status === undefined || status >= 500 || status === 429) return new TransientError(detail);
  return new PermanentError(detail);
}

/** Service text goes into error messages and alerts cut to 300 characters. */
export function clip(text: string): string {
  return text.length > 300 ? `${text.slice(0, 297)}...` : text;
}
