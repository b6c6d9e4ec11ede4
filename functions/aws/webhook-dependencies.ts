import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SQSClient } from '@aws-sdk/client-sqs';
import { builtOnce } from '../../shared/built-once';
import type { IngestDeps } from '../../shared/guard/ingest';
import type { Logger } from '../../shared/log';
import { log, readSecrets } from './runtime';

// The webhook's own root, apart from dependencies.ts, so its bundle carries no DynamoDB or ECR code.

export interface WebhookDeps {
  auth: IngestDeps['auth'];
  sqs: SQSClient;
  queueUrl: string;
  log: Logger;
  now?: () => Date;
}

export interface WebhookOverrides {
  sqs?: SQSClient;
  secretsManager?: SecretsManagerClient;
  env?: { QUEUE_URL?: string; SECRET_ARN?: string };
}

/** The webhook's composition root: the queue and each source's credentials from the secret. */
export async function buildWebhookDependencies(overrides: WebhookOverrides = {}): Promise<WebhookDeps> {
  const env = overrides.env ?? process.env;
  if (!env.QUEUE_URL) throw new Error('QUEUE_URL is not set');
  const secrets = await readSecrets(overrides.secretsManager ?? new SecretsManagerClient({}), env.SECRET_ARN);
  return {
    auth: (source) => {
      const settings = secrets.sources?.[source];
      return settings?.token || settings?.secret ? settings : null;
    },
    sqs: overrides.sqs ?? new SQSClient({}),
    queueUrl: env.QUEUE_URL,
    log,
  };
}

/** Once per container; a failed build is tried again on the next invocation. */
export const webhookDependencies = builtOnce(() => buildWebhookDependencies());
