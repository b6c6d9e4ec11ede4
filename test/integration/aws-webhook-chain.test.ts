import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { Context, LambdaFunctionURLEvent, SQSEvent } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { buildAwsDependencies } from '../../functions/aws/dependencies';
import { handleBatch } from '../../functions/aws/ecr-events';
import { handleWebhook, type WebhookDeps } from '../../functions/aws/webhook';
import { createHistoryTable } from '../../shared/history/dynamodb';
import { silentLogger } from '../../shared/log';
import { type RunningDynamoDb, startDynamoDbLocal } from '../support/dynamodb-local';
import { digestOf } from '../support/events';
import { RecordingNotifier } from '../support/recording-notifier';
import { distributionBody } from '../support/webhook-bodies';

// The whole AWS path of a third-party registry: Function URL → (mocked) SQS → queue consumer →
// DynamoDB Local. SQS is mocked (no emulator here); what the webhook sent is what the consumer gets.

const TOKEN = 'chain-token-0123456789abcdef';
const HOST = 'registry.example.com';
const REF = { registryHost: HOST, repository: 'payments/api', tag: 'v1' };
const sqs = mockClient(SQSClient);
const context = { functionName: 'tagwarden-consumer', awsRequestId: 'r' } as Context;

let dynamo: RunningDynamoDb;
beforeAll(async () => {
  dynamo = await startDynamoDbLocal();
}, 60_000);
afterAll(async () => {
  await dynamo?.stop();
});

function post(body: string, token = TOKEN): LambdaFunctionURLEvent {
  return {
    version: '2.0',
    routeKey: '$default',
    rawPath: '/webhooks/distribution',
    rawQueryString: '',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    requestContext: { http: { method: 'POST', path: '/webhooks/distribution' } },
    body,
    isBase64Encoded: false,
  } as unknown as LambdaFunctionURLEvent;
}

test('a distribution webhook goes through the queue into history: one overwrite, one alert, redeliveries collapse', async () => {
  sqs.reset();
  sqs.on(SendMessageCommand).resolves({ MessageId: 'sent' });
  const webhook: WebhookDeps = {
    auth: (source) => (source === 'distribution' ? { token: TOKEN } : null),
    sqs: new SQSClient({ region: 'eu-west-1', credentials: { accessKeyId: 'x', secretAccessKey: 'x' } }),
    queueUrl: 'https://sqs.eu-west-1.amazonaws.com/123456789012/tagwarden',
    log: silentLogger,
  };
  const first = distributionBody({
    id: 'e-a',
    host: HOST,
    digest: digestOf('a'),
    timestamp: '2026-12-01T10:00:00Z',
  });
  const second = distributionBody({
    id: 'e-b',
    host: HOST,
    digest: digestOf('b'),
    timestamp: '2026-12-01T10:05:00Z',
  });
  // The registry retries the second notification (a lost acknowledgement), and a forged one arrives.
  for (const body of [first, second, second])
    expect((await handleWebhook(webhook, post(body))).statusCode).toBe(202);
  expect((await handleWebhook(webhook, post(second, 'wrong-token-0123456789abcdef'))).statusCode).toBe(401);

  const sent = sqs.commandCalls(SendMessageCommand).map((call) => call.args[0].input.MessageBody!);
  expect(sent).toHaveLength(3);
  const batch: SQSEvent = {
    Records: sent.map((body, i) => ({
      messageId: `m-${i}`,
      receiptHandle: 'h',
      body,
      attributes: {},
      messageAttributes: {},
      md5OfBody: '',
      eventSource: 'aws:sqs',
      eventSourceARN: 'arn:aws:sqs:eu-west-1:123456789012:tagwarden',
      awsRegion: 'eu-west-1',
    })) as unknown as SQSEvent['Records'],
  };

  await createHistoryTable(dynamo.client, 'chain');
  const notifier = new RecordingNotifier();
  const deps = await buildAwsDependencies({
    dynamodb: dynamo.client,
    registries: () => null,
    notifier,
    repositoryOwners: async () => [],
    env: {
      TABLE_NAME: 'chain',
      POLICY: JSON.stringify({ defaults: { action: 'alert', owners: ['#platform'] } }),
    },
  });
  expect(await handleBatch(deps, batch, context)).toEqual({ batchItemFailures: [] });
  // SQS delivers at least once: the whole batch again changes nothing.
  expect(await handleBatch(deps, batch, context)).toEqual({ batchItemFailures: [] });

  const rows = await deps.store.history(REF);
  expect(rows.map((row) => [row.eventId, row.transition])).toEqual([
    ['distribution:e-a', 'first-seen'],
    ['distribution:e-b', 'overwrite'],
  ]);
  expect(notifier.alerts).toHaveLength(1);
  expect(notifier.alerts[0]!.incident).toMatchObject({
    ref: REF,
    from: digestOf('a'),
    to: digestOf('b'),
    owners: ['#platform'],
  });
}, 60_000);
