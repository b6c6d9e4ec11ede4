import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { LambdaFunctionURLEvent } from 'aws-lambda';
import { clustersFrom } from '../../shared/config/cluster-schema';
import { policyFromJson } from '../../shared/config/policy-schema';
import { MAX_REPORT_BYTES } from '../../shared/contracts/drift-report/payload';
import { errorMessage } from '../../shared/core';
import {
  admitDriftReport,
  clusterSecrets,
  type DriftOutcome,
  type DriftReceiverDeps,
  receiveDriftReport,
} from '../../shared/guard/drift';
import { DynamoDbHistoryStore } from '../../shared/history/dynamodb';
import { DynamoDbDriftLog } from '../../shared/history/dynamodb/drift';
import type { Logger } from '../../shared/log';
import { driftAnswer, type WebhookAnswer } from '../webhook-answer';
import { BUNDLED_POLICY } from './bundled-policy';
import { log, readSecrets } from './runtime';

/**
 * `POST /webhooks/agent` on the Interactions Function URL (interactions.ts): a drift report from `tagwarden agent`
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

export interface DriftReceiverOverrides {
  secretsManager?: SecretsManagerClient;
  dynamodb?: DynamoDBClient;
  env?: { SECRET_ARN?: string; TABLE_NAME?: string; POLICY?: string };
  now?: () => Date;
}

/**
 * What drift reports need: the table, the policy (owners of the alerts) and each cluster's secret
 * from the secret's `clusters`; null without TABLE_NAME. A bad cluster list refuses reports (it is
 * logged), never Slack's clicks.
 */
export async function buildDriftReceiver(
  overrides: DriftReceiverOverrides = {},
): Promise<DriftReceiverDeps | null> {
  const env = overrides.env ?? process.env;
  if (!env.TABLE_NAME) return null;
  const secrets = await readSecrets(overrides.secretsManager ?? new SecretsManagerClient({}), env.SECRET_ARN);
  const client = overrides.dynamodb ?? new DynamoDBClient({});
  let clusterSecret: DriftReceiverDeps['clusterSecret'] = () => null;
  try {
    clusterSecret = clusterSecrets(
      clustersFrom(secrets.clusters, "the Tagwarden secret's clusters are invalid"),
    );
  } catch (error) {
    log.error('drift reports are refused until the clusters are fixed', { error: errorMessage(error) });
  }
  return {
    drift: new DynamoDbDriftLog(client, env.TABLE_NAME),
    store: new DynamoDbHistoryStore({ client, tableName: env.TABLE_NAME }),
    policy: policyFromJson(BUNDLED_POLICY ?? env.POLICY, 'deploy it with the CDK stack'),
    clusterSecret,
    ...(overrides.now ? { now: overrides.now } : {}),
  };
}
