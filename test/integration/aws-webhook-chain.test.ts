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
import { distributionBody, distributionEnvelope, distributionItem } from '../support/webhook-bodies';

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

const webhook: WebhookDeps = {
  auth: (source) => (source === 'distribution' ? { token: TOKEN } : null),
  sqs: new SQSClient({ region: 'eu-west-1', credentials: { accessKeyId: 'x', secretAccessKey: 'x' } }),
  queueUrl: 'https://sqs.eu-west-1.amazonaws.com/123456789012/tagwarden',
  log: silentLogger,
};

/** What the (mocked) queue hands the consumer: the messages the webhook sent, in one batch. */
function sqsBatch(sent: string[]): SQSEvent {
  return {
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
}

/** The queue consumer on a fresh DynamoDB Local table, alerting into a recording notifier. */
async function consumer(table: string) {
  await createHistoryTable(dynamo.client, table);
  const notifier = new RecordingNotifier();
  const deps = await buildAwsDependencies({
    dynamodb: dynamo.client,
    registries: () => null,
    notifier,
    repositoryOwners: async () => [],
    env: {
      TABLE_NAME: table,
      POLICY: JSON.stringify({ defaults: { action: 'alert', owners: ['#platform'] } }),
    },
  });
  return { deps, notifier };
}

test('a distribution webhook goes through the queue into history: one overwrite, one alert, redeliveries collapse', async () => {
  sqs.reset();
  sqs.on(SendMessageCommand).resolves({ MessageId: 'sent' });
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
  const batch = sqsBatch(sent);
  const { deps, notifier } = await consumer('chain');
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

test('a manifest deleted by digest goes through the queue and is recorded against the tags serving it, alerted', async () => {
  sqs.reset();
  sqs.on(SendMessageCommand).resolves({ MessageId: 'sent' });
  const A = digestOf('a');
  const push = (tag: string) =>
    distributionBody({ id: `p-${tag}`, host: HOST, tag, digest: A, timestamp: '2026-12-01T10:00:00Z' });
  const deleted = distributionItem({
    id: 'del-1',
    host: HOST,
    action: 'delete',
    digest: A,
    timestamp: '2026-12-01T11:00:00Z',
  });
  delete (deleted.target as Record<string, unknown>).tag;
  const deleteBody = JSON.stringify(distributionEnvelope(deleted));
  for (const body of [push('v1'), push('v2')])
    expect((await handleWebhook(webhook, post(body))).statusCode).toBe(202);
  const pushes = sqs.commandCalls(SendMessageCommand).map((call) => call.args[0].input.MessageBody!);
  const { deps, notifier } = await consumer('chain-delete');
  expect(await handleBatch(deps, sqsBatch(pushes), context)).toEqual({ batchItemFailures: [] });

  sqs.resetHistory();
  expect((await handleWebhook(webhook, post(deleteBody))).statusCode).toBe(202);
  const queued = sqs.commandCalls(SendMessageCommand).map((call) => call.args[0].input.MessageBody!);
  expect(queued).toHaveLength(1);
  expect(await handleBatch(deps, sqsBatch(queued), context)).toEqual({ batchItemFailures: [] });
  expect(await handleBatch(deps, sqsBatch(queued), context)).toEqual({ batchItemFailures: [] });

  for (const tag of ['v1', 'v2']) {
    const ref = { ...REF, tag };
    expect((await deps.store.history(ref)).map((row) => [row.eventId, row.transition])).toEqual([
      [`distribution:p-${tag}`, 'first-seen'],
      [`distribution:del-1@${tag}`, 'digest-deleted'],
    ]);
    expect((await deps.store.tagState(ref))?.digest).toBeNull();
  }
  expect(notifier.alerts.map((a) => [a.title, a.incident.ref.tag])).toEqual([
    ['Image deleted from the registry', 'v1'],
    ['Image deleted from the registry', 'v2'],
  ]);
}, 60_000);

test("ECR's own delete by digest (an EventBridge DELETE without a tag) is recorded against the tags serving the image, alerted once", async () => {
  const A = digestOf('a');
  const ecrHost = '123456789012.dkr.ecr.us-west-2.amazonaws.com';
  const ecrEvent = (id: string, detail: Record<string, string>, time: string) =>
    JSON.stringify({
      version: '0',
      id,
      'detail-type': 'ECR Image Action',
      source: 'aws.ecr',
      account: '123456789012',
      time,
      region: 'us-west-2',
      resources: [],
      detail: { result: 'SUCCESS', 'repository-name': 'payments/api', 'image-digest': A, ...detail },
    });
  const { deps, notifier } = await consumer('chain-ecr-delete');
  const pushes = ['v1', 'v2'].map((tag) =>
    ecrEvent(`push-${tag}`, { 'action-type': 'PUSH', 'image-tag': tag }, '2026-12-01T10:00:00Z'),
  );
  expect(await handleBatch(deps, sqsBatch(pushes), context)).toEqual({ batchItemFailures: [] });

  const deleted = sqsBatch([ecrEvent('del-ecr', { 'action-type': 'DELETE' }, '2026-12-01T11:00:00Z')]);
  expect(await handleBatch(deps, deleted, context)).toEqual({ batchItemFailures: [] });
  // EventBridge delivers at least once: the same event again records nothing more.
  expect(await handleBatch(deps, deleted, context)).toEqual({ batchItemFailures: [] });

  for (const tag of ['v1', 'v2']) {
    const ref = { registryHost: ecrHost, repository: 'payments/api', tag };
    expect((await deps.store.history(ref)).map((row) => [row.eventId, row.transition])).toEqual([
      [`ecr:push-${tag}`, 'first-seen'],
      [`ecr:del-ecr@${tag}`, 'digest-deleted'],
    ]);
    expect((await deps.store.tagState(ref))?.digest).toBeNull();
  }
  expect(notifier.alerts.map((a) => [a.title, a.incident.ref.tag])).toEqual([
    ['Image deleted from the registry', 'v1'],
    ['Image deleted from the registry', 'v2'],
  ]);
}, 60_000);
