import type { IngestOutcome } from '../shared/guard/ingest';

/** An ingest outcome as HTTP: the one place a webhook's status code is chosen, for every runtime. */
export interface WebhookAnswer {
  status: number;
  body: Record<string, unknown>;
}

const REFUSAL_STATUS = {
  unknownSource: 404,
  notEnabled: 404,
  unauthenticated: 401,
  tooLarge: 413,
  rejected: 400,
} as const;

export function webhookAnswer(outcome: IngestOutcome): WebhookAnswer {
  switch (outcome.kind) {
    case 'recorded':
      return { status: 202, body: { ...outcome.summary } };
    case 'handshake':
      return { status: 200, body: outcome.response };
    case 'unavailable':
      return { status: 503, body: { error: outcome.reason } };
    default:
      return { status: REFUSAL_STATUS[outcome.kind], body: { error: outcome.reason } };
  }
}
