import type { DriftOutcome } from '../shared/guard/drift';
import type { IngestOutcome, PreflightOutcome } from '../shared/guard/ingest';

/** A path segment percent-decoded, or null when it is not valid percent-encoding (a 400, never a throw). */
export function decoded(segment: string): string | null {
  try {
    return decodeURIComponent(segment);
  } catch {
    return null;
  }
}

/** An ingest outcome as HTTP: the one place a webhook's status code is chosen, for every runtime. */
export interface WebhookAnswer {
  status: number;
  body: Record<string, unknown>;
  /** Headers the answer needs besides its content type (a preflight's handshake, `Allow`). */
  headers?: Record<string, string>;
}

const REFUSAL_STATUS = {
  unknownSource: 404,
  notEnabled: 404,
  unauthenticated: 401,
  tooLarge: 413,
  rejected: 400,
} as const;

/** Reasons an answer lists at the most: a 1 MiB body of bad items must not make a 20 MB answer. */
export const MAX_LISTED_REASONS = 20;

/**
 * The 202 body: what was accepted, and the ignored and rejected items' reasons — the first
 * MAX_LISTED_REASONS of each, with their full counts (`ignoredCount`, `rejectedCount`).
 */
export function acceptedBody<S extends { ignored: readonly string[]; rejected: readonly string[] }>(
  summary: S,
): Record<string, unknown> {
  return {
    ...summary,
    ignored: summary.ignored.slice(0, MAX_LISTED_REASONS),
    ignoredCount: summary.ignored.length,
    rejected: summary.rejected.slice(0, MAX_LISTED_REASONS),
    rejectedCount: summary.rejected.length,
  };
}

export function webhookAnswer(outcome: IngestOutcome): WebhookAnswer {
  switch (outcome.kind) {
    case 'recorded':
      return { status: 202, body: acceptedBody(outcome.summary) };
    case 'handshake':
      return { status: 200, body: outcome.response };
    case 'unavailable':
      return { status: 503, body: { error: outcome.reason } };
    default:
      return { status: REFUSAL_STATUS[outcome.kind], body: { error: outcome.reason } };
  }
}

/** An OPTIONS (CloudEvents handshake) outcome as HTTP. */
export function preflightAnswer(
  outcome: PreflightOutcome,
): WebhookAnswer & { headers: Record<string, string> } {
  switch (outcome.kind) {
    case 'validated':
      return { status: 200, headers: outcome.headers, body: { status: 'ok' } };
    case 'postOnly':
      return { status: 405, headers: { Allow: 'POST' }, body: { error: outcome.reason } };
    default:
      return { status: REFUSAL_STATUS[outcome.kind], headers: {}, body: { error: outcome.reason } };
  }
}

const DRIFT_STATUS = { unauthenticated: 401, rejected: 400, replay: 409 } as const;

/**
 * A drift report's outcome as HTTP (issue 15): 200 recorded · 400 a bad body, with the reason · 401
 * signature, cluster or time refused · 409 a report id already received (it was recorded then: the
 * agent must not retry it as a failure).
 */
export function driftAnswer(outcome: DriftOutcome): WebhookAnswer {
  if (outcome.kind === 'recorded') {
    const { kind: _, ...body } = outcome;
    return { status: 200, body: { status: 'recorded', ...body } };
  }
  return { status: DRIFT_STATUS[outcome.kind], body: { error: outcome.reason } };
}
