import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { acceptEvents } from '../../shared/guard/record';
import { decodeRecord } from '../../shared/sources/queue-message';
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
    deps.metrics.addMetric('EventRejected', MetricUnit.Count, 1);
    return;
  }
  for (const reason of decoded.rejected) {
    await deps.store.recordFailure({ source: decoded.source, reason, payload: record.body, receivedAt });
    deps.metrics.addMetric('EventRejected', MetricUnit.Count, 1);
  }
  const { recorded } = await acceptEvents(deps, decoded.events, decoded.receivedAt ?? receivedAt);
  for (const { result } of recorded) {
    deps.metrics.addMetric('EventProcessed', MetricUnit.Count, 1);
    if (result.transition.kind === 'overwrite') {
      deps.metrics.addMetric('TagOverwriteDetected', MetricUnit.Count, 1);
      deps.metrics.addMetric(
        'DetectionLatencyMs',
        MetricUnit.Milliseconds,
        Math.max(0, now().getTime() - Date.parse(result.eventTime)),
      );
    }
  }
}

/** SQS batch → history, with partial batch failures; then the effects this batch planned. */
export async function handleBatch(
  deps: AwsDependencies,
  event: SQSEvent,
  context: Context,
): Promise<SQSBatchResponse> {
  try {
    const response = await processPartialResponse(
      event,
      (record: SQSRecord) => guardRecord(deps, record),
      processor,
      {
        context,
        throwOnFullBatchFailure: false,
      },
    );
    await deps.runner.runDue();
    return response;
  } finally {
    deps.metrics.publishStoredMetrics();
  }
}

export const handler = async (event: SQSEvent, context: Context): Promise<SQSBatchResponse> =>
  handleBatch(await awsDependencies(), event, context);
