import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { LambdaFunctionURLEvent } from 'aws-lambda';
import { SlackResponseSender } from '../../shared/adapters/notify/slack-response';
import { builtOnce } from '../../shared/built-once';
import { policyFromJson } from '../../shared/config/policy-schema';
import { errorMessage } from '../../shared/core';
import { webhookMessages } from '../../shared/guard/queue-envelope';
import {
  handleSlackAction,
  SLACK_ACTION_MAX_BYTES,
  type SlackActionDeps,
} from '../../shared/guard/slack-action';
import { DynamoDbHistoryStore } from '../../shared/history/dynamodb/store';
import { BUNDLED_POLICY } from './bundled-policy';
import { log, readSecrets } from './runtime';

/** The Function URL path Slack's interactivity posts clicks to. */
export const SLACK_ACTIONS_PATH = '/slack/actions';

/** What a click needs on AWS: the history table, the policy, the signing secret, and the queue to wake. */
export interface SlackUrlDeps extends Omit<SlackActionDeps, 'wake'> {
  sqs: Pick<SQSClient, 'send'>;
  queueUrl: string;
}

export interface SlackUrlOverrides {
  dynamodb?: DynamoDBClient;
  sqs?: SQSClient;
  secretsManager?: SecretsManagerClient;
  /** Where answers to `response_url`s may go; default Slack's own host (tests: a loopback receiver). */
  responseUrlBase?: string;
  env?: { QUEUE_URL?: string; SECRET_ARN?: string; TABLE_NAME?: string; POLICY?: string };
}

/**
 * The clicks' composition root: undefined while the secret has no `slackSigningSecret` (the route is
 * then off). The table and the policy are the consumer's own (the policy is built into this bundle too).
 */
export async function buildSlackUrlDeps(
  overrides: SlackUrlOverrides = {},
): Promise<SlackUrlDeps | undefined> {
  const env = overrides.env ?? process.env;
  const secrets = await readSecrets(overrides.secretsManager ?? new SecretsManagerClient({}), env.SECRET_ARN);
  if (!secrets.slackSigningSecret) return undefined;
  if (!env.TABLE_NAME || !env.QUEUE_URL) throw new Error('TABLE_NAME and QUEUE_URL must be set');
  return {
    signingSecret: secrets.slackSigningSecret,
    store: new DynamoDbHistoryStore({
      client: overrides.dynamodb ?? new DynamoDBClient({}),
      tableName: env.TABLE_NAME,
    }),
    policy: policyFromJson(BUNDLED_POLICY ?? env.POLICY, 'deploy it with the CDK stack'),
    responder: new SlackResponseSender({
      log,
      ...(overrides.responseUrlBase ? { base: overrides.responseUrlBase } : {}),
    }),
    log,
    sqs: overrides.sqs ?? new SQSClient({}),
    queueUrl: env.QUEUE_URL,
  };
}

/**
 * `POST /slack/actions` on the Function URL: the raw bytes (base64 when the Function URL says so) go,
 * unparsed, to the shared handler. A revert or retry a click queues waits in the DynamoDB outbox; an
 * empty message on the queue wakes the consumer, which runs due effects after every batch (and the
 * sweep's every-minute outbox run picks it up if the message is lost).
 */
export async function handleSlackUrl(
  deps: SlackUrlDeps,
  event: LambdaFunctionURLEvent,
  now: Date = new Date(),
): Promise<{ status: number; body: unknown }> {
  if (event.requestContext.http.method !== 'POST') return { status: 405, body: { error: 'use POST' } };
  const rawBody = event.body
    ? Buffer.from(event.body, event.isBase64Encoded ? 'base64' : 'utf8')
    : Buffer.alloc(0);
  if (rawBody.length > SLACK_ACTION_MAX_BYTES)
    return {
      status: 413,
      body: { error: `body is ${rawBody.length} bytes; the limit is ${SLACK_ACTION_MAX_BYTES}` },
    };
  const headers = Object.fromEntries(
    Object.entries(event.headers ?? {}).map(([k, v]) => [k.toLowerCase(), v]),
  );
  let woken = false;
  const result = await handleSlackAction(
    { ...deps, wake: () => (woken = true) },
    { rawBody, headers, now, remoteAddress: event.requestContext.http.sourceIp ?? 'unknown' },
  );
  if (woken) await wakeConsumer(deps, now);
  return result;
}

async function wakeConsumer(deps: SlackUrlDeps, now: Date): Promise<void> {
  try {
    const [message] = webhookMessages('slack', now.toISOString(), [], []);
    await deps.sqs.send(new SendMessageCommand({ QueueUrl: deps.queueUrl, MessageBody: message }));
  } catch (error) {
    deps.log.warn('could not wake the consumer; the sweep runs the queued effect within a minute', {
      error: errorMessage(error),
    });
  }
}

export const slackUrlDeps = builtOnce(() => buildSlackUrlDeps());

/** The route's entry: 404 while Slack actions are off, 500 with one line when misconfigured. */
export async function slackActionsRoute(
  event: LambdaFunctionURLEvent,
  getDeps: () => Promise<SlackUrlDeps | undefined> = slackUrlDeps,
): Promise<{ status: number; body: unknown }> {
  let deps: SlackUrlDeps | undefined;
  try {
    deps = await getDeps();
  } catch (error) {
    log.error('Slack actions are misconfigured', { error: errorMessage(error) });
    return { status: 500, body: { error: 'Slack actions are misconfigured; see the function logs' } };
  }
  if (!deps)
    return {
      status: 404,
      body: {
        error: 'Slack actions are off: put slackSigningSecret in the Tagwarden secret (see docs/slack.md)',
      },
    };
  return handleSlackUrl(deps, event);
}
