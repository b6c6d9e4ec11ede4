import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SQSClient } from '@aws-sdk/client-sqs';
import type { SourceAuthConfig } from '../../shared/auth/source-auth';
import { builtOnce } from '../../shared/built-once';
import type { IngestDeps } from '../../shared/guard/ingest';
import type { Logger } from '../../shared/log';
import { SOURCE_PARSERS } from '../../shared/sources';
import { log, readSecrets, shownKey } from './runtime';

// The webhook's own root, apart from dependencies.ts, so its bundle carries no ECR code, and apart
// from interactions.ts (Slack's clicks, agents' drift reports), so it carries no DynamoDB either.

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
  now?: () => Date;
}

/** The webhook's composition root: the queue and each source's credentials from the secret. */
export async function buildWebhookDependencies(overrides: WebhookOverrides = {}): Promise<WebhookDeps> {
  const env = overrides.env ?? process.env;
  if (!env.QUEUE_URL) throw new Error('QUEUE_URL is not set');
  const secrets = await readSecrets(overrides.secretsManager ?? new SecretsManagerClient({}), env.SECRET_ARN);
  // A misspelt source ("harbour") would be refused with 401 for ever, with nothing to say why.
  const unknown = Object.keys(secrets.sources ?? {}).filter((name) => !SOURCE_PARSERS.has(name));
  if (unknown.length > 0)
    throw new Error(
      `the Tagwarden secret is invalid: sources: unknown source ${unknown.map((n) => shownKey(n, '"')).join(', ')}; known sources: ${[...SOURCE_PARSERS.keys()].join(', ')}`,
    );
  return {
    auth: webhookSourceAuth(secrets.sources ?? {}),
    sqs: overrides.sqs ?? new SQSClient({}),
    queueUrl: env.QUEUE_URL,
    log,
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
