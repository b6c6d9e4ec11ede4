import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SQSClient } from '@aws-sdk/client-sqs';
import type { SourceAuthConfig } from '../../shared/auth/source-auth';
import { builtOnce } from '../../shared/built-once';
import { clustersFrom } from '../../shared/config/cluster-schema';
import { policyFromJson } from '../../shared/config/policy-schema';
import { errorMessage } from '../../shared/core';
import { clusterSecrets, type DriftReceiverDeps } from '../../shared/guard/drift';
import type { IngestDeps } from '../../shared/guard/ingest';
import { DynamoDbHistoryStore } from '../../shared/history/dynamodb';
import { DynamoDbDriftLog } from '../../shared/history/dynamodb/drift';
import type { Logger } from '../../shared/log';
import { BUNDLED_POLICY } from './bundled-policy';
import { log, readSecrets, type TagwardenSecrets } from './runtime';

// The webhook's own root, apart from dependencies.ts, so its bundle carries no ECR code. DynamoDB is
// here for drift reports only (POST /webhooks/agent), recorded where they are received.

export interface WebhookDeps {
  auth: IngestDeps['auth'];
  sqs: SQSClient;
  queueUrl: string;
  log: Logger;
  /** Drift reports' receiver: the table, the policy, the clusters' secrets; null without TABLE_NAME. */
  drift?: DriftReceiverDeps | null;
  now?: () => Date;
}

export interface WebhookOverrides {
  sqs?: SQSClient;
  secretsManager?: SecretsManagerClient;
  dynamodb?: DynamoDBClient;
  env?: { QUEUE_URL?: string; SECRET_ARN?: string; TABLE_NAME?: string; POLICY?: string };
  now?: () => Date;
}

/** The webhook's composition root: the queue and each source's credentials from the secret. */
export async function buildWebhookDependencies(overrides: WebhookOverrides = {}): Promise<WebhookDeps> {
  const env = overrides.env ?? process.env;
  if (!env.QUEUE_URL) throw new Error('QUEUE_URL is not set');
  const secrets = await readSecrets(overrides.secretsManager ?? new SecretsManagerClient({}), env.SECRET_ARN);
  return {
    auth: webhookSourceAuth(secrets.sources ?? {}),
    sqs: overrides.sqs ?? new SQSClient({}),
    queueUrl: env.QUEUE_URL,
    log,
    drift: env.TABLE_NAME ? driftReceiver(env.TABLE_NAME, env.POLICY, secrets, overrides) : null,
    ...(overrides.now ? { now: overrides.now } : {}),
  };
}

/**
 * What drift reports need: the table, the policy (owners of the alerts) and each cluster's secret
 * from the secret's `clusters`. A bad cluster list refuses reports (it is logged), never webhooks.
 */
function driftReceiver(
  tableName: string,
  policyJson: string | undefined,
  secrets: TagwardenSecrets,
  overrides: WebhookOverrides,
): DriftReceiverDeps {
  const client = overrides.dynamodb ?? new DynamoDBClient({});
  const store = new DynamoDbHistoryStore({ client, tableName });
  let clusterSecret: DriftReceiverDeps['clusterSecret'] = () => null;
  try {
    clusterSecret = clusterSecrets(
      clustersFrom(secrets.clusters, "the Tagwarden secret's clusters are invalid"),
    );
  } catch (error) {
    log.error('drift reports are refused until the clusters are fixed', { error: errorMessage(error) });
  }
  return {
    drift: new DynamoDbDriftLog(client, tableName),
    store,
    policy: policyFromJson(BUNDLED_POLICY ?? policyJson, 'deploy it with the CDK stack'),
    clusterSecret,
    ...(overrides.now ? { now: overrides.now } : {}),
  };
}

/**
 * On the public Function URL a source is never open: one without a token or secret in the secret is
 * refused with 401, whatever the secret says. ECR events never come this way (they come from
 * EventBridge through the queue), so `ecr` is not enabled here at all.
 */
export function webhookSourceAuth(sources: Record<string, SourceAuthConfig>): IngestDeps['auth'] {
  return (source) => {
    if (source === 'ecr') return null;
    const { open: _ignored, ...settings } = sources[source] ?? {};
    return settings;
  };
}

/** Once per container; a failed build is tried again on the next invocation. */
export const webhookDependencies = builtOnce(() => buildWebhookDependencies());
