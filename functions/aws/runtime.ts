import { Logger as PowertoolsLogger } from '@aws-lambda-powertools/logger';
import { GetSecretValueCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { SourceAuthConfig } from '../../shared/auth/source-auth';
import type { Logger } from '../../shared/log';

// What every Lambda needs, kept apart so the webhook bundle carries no DynamoDB or ECR code.

/** What the Secrets Manager secret holds (JSON). Read once per container. */
export interface TagwardenSecrets {
  slackWebhookUrl?: string;
  slackRoutes?: Record<string, string>;
  /** The Slack app's signing secret: set, the webhook takes clicks on `POST /slack/actions`. */
  slackSigningSecret?: string;
  sources?: Record<string, SourceAuthConfig>;
  /**
   * Cluster endpoints for digest bumps, as in the config file's `clusters` (they hold HMAC keys and
   * passwords). Validated by the functions that send bumps (not the webhook, which only enqueues).
   */
  clusters?: unknown;
}

export const powertoolsLogger = new PowertoolsLogger({ serviceName: 'tagwarden' });

/** Our Logger port over Powertools' structured logger (JSON lines with the fields we pass). */
export const log: Logger = {
  info: (message, fields = {}) => powertoolsLogger.info(message, fields),
  warn: (message, fields = {}) => powertoolsLogger.warn(message, fields),
  error: (message, fields = {}) => powertoolsLogger.error(message, fields),
};

export async function readSecrets(
  client: SecretsManagerClient,
  secretArn: string | undefined,
): Promise<TagwardenSecrets> {
  if (!secretArn) return {};
  const answer = await client.send(new GetSecretValueCommand({ SecretId: secretArn }));
  if (!answer.SecretString) return {};
  try {
    return JSON.parse(answer.SecretString) as TagwardenSecrets;
  } catch {
    throw new Error(
      'the Tagwarden secret is not JSON; expected {"slackWebhookUrl", "sources": {...}, "clusters": [...]}',
    );
  }
}
