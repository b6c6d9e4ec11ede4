import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { decodeRecord } from '../../shared/guard/queue-envelope';
import { acceptEvents, recordDigestDeletes } from '../../shared/guard/record';
import { rejectedItemsRecord } from '../../shared/history/failure-summary';
import { type AwsDependencies, awsDependencies } from './dependencies';

const processor = new BatchProcessor(EventType.SQS);

/**
 * One queue record: ECR's own EventBridge event, or events a webhook queued. A record that can
 * never be processed (bad payload) is kept as a failed record and acknowledged; one that fails on
 * the way (DynamoDB throttling, a timeout) throws, so SQS retries it and the DLQ catches the rest.
 */
export async function guardRecord(
  deps: AwsDependencies,
  record: SQSRecord,
  now: () => Date = () => new Date(),
): Promise<void> {
  const receivedAt = now().toISOString();
  const decoded = decodeRecord(record.body);
  if (!decoded.ok) {
    await deps.store.recordFailure({
      source: 'sqs',
      reason: decoded.reason,
      payload: record.body,
      receivedAt,
    });
    deps.log.warn('queue record rejected', { messageId: record.messageId, reason: decoded.reason });
    deps.observer.rejected();
    return;
  }
  if (decoded.rejected.length > 0)
    await deps.store.recordFailure(
      rejectedItemsRecord(decoded.source, decoded.rejected, record.body, receivedAt),
    );
  for (const _ of decoded.rejected) deps.observer.rejected();
  const at = decoded.receivedAt ?? receivedAt;
  const { recorded } = await acceptEvents(deps, decoded.events, at);
  const deleted = await recordDigestDeletes(deps, decoded.digestDeletes, at);
  for (const { result } of [...recorded, ...deleted]) deps.observer.recorded(result);
}

/**
 * The batch's records in the order they were sent (SQS `SentTimestamp`, then their place in the
 * batch). A standard queue may hand them over in another order, and two pushes of one tag in one
 * batch must be recorded oldest first: recorded the other way round, the older is `stale` and the
 * overwrite between them is never seen.
 */
export function inSendOrder(event: SQSEvent): SQSEvent {
  const sent = (record: SQSRecord) => Number(record.attributes?.SentTimestamp) || 0;
  const ordered = event.Records.map((record, index) => ({ record, index }))
    .sort((a, b) => sent(a.record) - sent(b.record) || a.index - b.index)
    .map(({ record }) => record);
  return { ...event, Records: ordered };
}

/**
 * SQS batch → history, one record after another in send order (see inSendOrder), with partial batch
 * failures; then the effects this batch planned.
 */
export async function handleBatch(
  deps: AwsDependencies,
  event: SQSEvent,
  context: Context,
): Promise<SQSBatchResponse> {
  try {
    const response = await processPartialResponse(
      inSendOrder(event),
      (record: SQSRecord) => guardRecord(deps, record),
      processor,
      {
        context,
        throwOnFullBatchFailure: false,
        // In parallel, two pushes of one tag race, and the newer may commit first (see above).
        processInParallel: false,
      },
    );
    await deps.runner.runDue();
    return response;
  } finally {
    deps.observer.flush();
  }
}

export const handler = async (event: SQSEvent, context: Context): Promise<SQSBatchResponse> =>
  handleBatch(await awsDependencies(), event, context);
