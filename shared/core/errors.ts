/**
 * Errors are classified where they arise. A transient error (timeout, 5xx, 429) is retried with
 * backoff; a permanent one (bad request, missing manifest, 4xx) fails the effect at once and is
 * reported. Anything unclassified counts as transient, so nothing is dropped on a surprise.
 */
export class TransientError extends Error {
  override readonly name = 'TransientError';
  constructor(
    message: string,
    /** A delay the other side asked for (Retry-After), in milliseconds. */
    readonly retryAfterMs: number | null = null,
    /** A wait that is part of the plan (the registry has not caught up yet): logged at debug, not warn. */
    readonly expected = false,
  ) {
    super(message);
  }
}

export class PermanentError extends Error {
  override readonly name = 'PermanentError';
}

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
