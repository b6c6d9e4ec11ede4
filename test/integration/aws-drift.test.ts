import type { LambdaFunctionURLEvent } from 'aws-lambda';
import { buildDriftReceiver } from '../../functions/aws/drift-report';
import { handleInteractions, type InteractionsRoots } from '../../functions/aws/interactions';
import { handleWebhook, type WebhookDeps } from '../../functions/aws/webhook';
import type { DriftReport } from '../../shared/contracts/drift-report/payload';
import { tagRefOf } from '../../shared/core';
import { createHistoryTable, DynamoDbHistoryStore } from '../../shared/history/dynamodb';
import { DynamoDbDriftLog } from '../../shared/history/dynamodb/drift';
import { secretsManagerHolding } from '../support/aws-mocks';
import { type RunningDynamoDb, startDynamoDbLocal } from '../support/dynamodb-local';
import { digestOf, pushEvent } from '../support/events';
import { DRIFT_NOW, DRIFT_SECRET, driftReport, SPLIT, signedDrift } from '../support/signed-drift';

const ARN = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:tagwarden';
const POLICY = JSON.stringify({
  defaults: { action: 'alert', owners: ['#payments'], bump: false },
  rules: [],
});
let dynamo: RunningDynamoDb;
let tables = 0;

beforeAll(async () => {
  dynamo = await startDynamoDbLocal();
}, 60_000);
afterAll(async () => {
  await dynamo?.stop();
});

/** The Interactions Lambda as deployed: the secret's `clusters` (Secrets Manager mocked), DynamoDB Local. */
async function interactionsLambda() {
  const tableName = `awsdrift-${++tables}`;
  await createHistoryTable(dynamo.client, tableName);
  const store = new DynamoDbHistoryStore({ client: dynamo.client, tableName });
  await store.apply(pushEvent({ digest: digestOf('a') }), JSON.parse(POLICY), DRIFT_NOW.toISOString());
  const secret = {
    clusters: [{ name: 'prod-eu', url: 'https://agent.prod-eu.example/bump', secret: DRIFT_SECRET }],
  };
  const receiver = await buildDriftReceiver({
    secretsManager: secretsManagerHolding('us-east-1', ARN, secret),
    dynamodb: dynamo.client,
    env: {
      SECRET_ARN: ARN,
      TABLE_NAME: tableName,
      POLICY,
    },
    now: () => DRIFT_NOW,
  });
  const deps: InteractionsRoots = { slack: async () => undefined, drift: async () => receiver };
  return { deps, store, drift: new DynamoDbDriftLog(dynamo.client, tableName) };
}

function urlEvent(report: DriftReport, secret?: string): LambdaFunctionURLEvent {
  const { body, headers } = signedDrift(report, secret);
  return {
    version: '2.0',
    routeKey: '$default',
    rawPath: '/webhooks/agent',
    rawQueryString: '',
    headers,
    requestContext: { http: { method: 'POST', path: '/webhooks/agent' } },
    body,
    isBase64Encoded: false,
  } as unknown as LambdaFunctionURLEvent;
}

describe('POST /webhooks/agent on the AWS Interactions Lambda (issue 15 item 2)', () => {
  it('records a split report with one alert queued in the outbox, and refuses its replay with 409', async () => {
    const { deps, store, drift } = await interactionsLambda();
    const report = driftReport('r1', [SPLIT]);
    const answer = await handleInteractions(deps, urlEvent(report));
    expect(answer.statusCode).toBe(200);
    expect(JSON.parse(answer.body)).toMatchObject({ status: 'recorded', opened: 1, cleared: 0 });
    const due = await store.claimDueEffects(DRIFT_NOW.toISOString(), DRIFT_NOW.toISOString(), 10);
    expect(due.map((e) => e.kind)).toEqual(['alert']);
    expect(JSON.stringify(due[0]!.effect)).toContain('prod-eu');
    const replay = await handleInteractions(deps, urlEvent(report));
    expect(replay.statusCode).toBe(409);
    expect(await drift.driftHistory(tagRefOf(pushEvent()))).toHaveLength(1);
  }, 30_000);

  it('refuses a forged report (401) and an old one (401), recording nothing', async () => {
    const { deps, drift } = await interactionsLambda();
    const forged = await handleInteractions(
      deps,
      urlEvent(driftReport('r2', [SPLIT]), 'not-the-secret-0123456789'),
    );
    expect(forged.statusCode).toBe(401);
    const old = new Date(DRIFT_NOW.getTime() - 10 * 60_000).toISOString();
    const late = await handleInteractions(deps, urlEvent(driftReport('r3', [SPLIT], old)));
    expect(late.statusCode).toBe(401);
    expect(JSON.parse(late.body).error).toContain('outside the accepted window');
    expect(await drift.openFindings()).toEqual([]);
  }, 30_000);

  it('is 404 on the registry webhook (it keeps no table) and on an unknown Interactions path', async () => {
    const report = driftReport('r4', [SPLIT]);
    const webhookDeps = { auth: () => ({}), queueUrl: 'q', log: console } as unknown as WebhookDeps;
    const onWebhook = await handleWebhook(webhookDeps, urlEvent(report));
    expect([onWebhook.statusCode, JSON.parse(onWebhook.body).error]).toEqual([
      404,
      'drift reports go to POST <InteractionsUrl>/webhooks/agent',
    ]);
    const { deps } = await interactionsLambda();
    const elsewhere = await handleInteractions(deps, { ...urlEvent(report), rawPath: '/webhooks/ghcr' });
    expect(elsewhere.statusCode).toBe(404);
    const off = await handleInteractions({ ...deps, drift: async () => null }, urlEvent(report));
    expect(JSON.parse(off.body).error).toContain('TABLE_NAME is not set');
  }, 30_000);
});
