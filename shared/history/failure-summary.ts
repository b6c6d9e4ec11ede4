import type { FailedRecord } from './port';

/** Reasons a failed record names at most; the rest are counted. */
export const MAX_SUMMARY_REASONS = 20;
/** Characters each named reason keeps. */
export const MAX_REASON_CHARS = 200;

/**
 * One failed record for every rejected item of one body: the body is kept once, whatever the number
 * of items, and the reason names how many were rejected and the first few reasons, each cut short.
 * A body of 5,000 bad items is one record of its own size, never 5,000 copies of it.
 */
export function rejectedItemsRecord(
  source: string,
  reasons: readonly string[],
  payload: string,
  receivedAt: string,
): Omit<FailedRecord, 'id'> {
  return { source, reason: summarizeReasons(reasons), payload, receivedAt };
}

/** `reason` alone for one item; `N items rejected: r1; r2; …; and M more` for several. */
export function summarizeReasons(reasons: readonly string[]): string {
  const named = reasons.slice(0, MAX_SUMMARY_REASONS).map(cut);
  if (reasons.length === 1) return named[0]!;
  const more = reasons.length - named.length;
  return `${reasons.length} items rejected: ${named.join('; ')}${more > 0 ? `; and ${more} more` : ''}`;
}

function cut(reason: string): string {
  return reason.length > MAX_REASON_CHARS ? `${reason.slice(0, MAX_REASON_CHARS - 1)}…` : reason;
}
