import type { LambdaFunctionURLEvent } from 'aws-lambda';
import { MAX_REPORT_BYTES } from '../../shared/contracts/drift-report/payload';
import {
  admitDriftReport,
  type DriftOutcome,
  type DriftReceiverDeps,
  receiveDriftReport,
} from '../../shared/guard/drift';
import type { Logger } from '../../shared/log';
import { driftAnswer, type WebhookAnswer } from '../webhook-answer';

/**
 * `POST /webhooks/agent` on the webhook's Function URL: a drift report from `tagwarden agent`
 * (issue 15), verified and recorded in the DynamoDB history by shared/guard/drift.ts. The alerts it
 * queues are outbox items: the Sweep's every-minute outbox run sends them, as it retries every alert.
 */
export async function handleDriftReport(
  drift: DriftReceiverDeps | null,
  log: Logger,
  event: LambdaFunctionURLEvent,
  headers: Record<string, string | undefined>,
): Promise<WebhookAnswer> {
  if (event.requestContext.http.method !== 'POST') return { status: 405, body: { error: 'use POST' } };
  if (!drift)
    return { status: 404, body: { error: 'this deployment keeps no drift reports (TABLE_NAME is not set)' } };
  const admission = admitDriftReport(drift, headers);
  if (!admission.ok) return answered(log, admission.outcome);
  const body = event.body
    ? Buffer.from(event.body, event.isBase64Encoded ? 'base64' : 'utf8')
    : Buffer.alloc(0);
  if (body.length > MAX_REPORT_BYTES)
    return { status: 413, body: { error: `body is ${body.length} bytes; the limit is ${MAX_REPORT_BYTES}` } };
  return answered(log, await receiveDriftReport(drift, admission, headers, body));
}

function answered(log: Logger, outcome: DriftOutcome): WebhookAnswer {
  if (outcome.kind === 'unauthenticated')
    log.warn('drift report refused', { source: 'agent', reason: outcome.reason });
  return driftAnswer(outcome);
}
