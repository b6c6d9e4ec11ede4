import { join } from 'node:path';
import { CustomResource, Duration, RemovalPolicy, type Stack, Validations } from 'aws-cdk-lib';
import { Rule, RuleTargetInput, Schedule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { type CfnFunction, type FunctionUrl, FunctionUrlAuthType } from 'aws-cdk-lib/aws-lambda';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import { Secret } from 'aws-cdk-lib/aws-secretsmanager';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import { TagwardenFunction } from '../tagwarden-function';
import { CONSUMER_TIMEOUT } from './event-intake';
import { ROOT } from './project-root';

/** What the consumer and the sweep read from their environment: the table, the secret, the guarded repositories. */
export type GuardEnvironment = Record<'TABLE_NAME' | 'SECRET_ARN' | 'REPOSITORIES', string>;

/** What the consumer and the sweep are built with: their environment and the policy built into their code. */
export interface GuardSettings {
  environment: GuardEnvironment;
  /** The policy as JSON, or undefined for the built-in default. */
  policyJson: string | undefined;
}

const policyOf = (policyJson: string | undefined) => (policyJson !== undefined ? { policyJson } : {});

/**
 * The secret holding the Slack webhook URL, the sources' tokens and the cluster endpoints. It is
 * created as the JSON `{}` (the functions read JSON; with nothing filled in, alerts go to the log and
 * the public webhook refuses every source), named after the stack so two stacks in one account do not
 * collide, and kept when the stack is deleted: it holds what only its owner can issue again.
 */
export function tagwardenSecret(stack: Stack, secretName: string): Secret {
  const secret = new Secret(stack, 'Secrets', {
    secretName,
    description:
      'Tagwarden: {"slackWebhookUrl": "...", "slackRoutes": {...}, "sources": {"<source>": {"token" | "secret": "..."}}, "clusters": [...]}',
    secretObjectValue: {},
    removalPolicy: RemovalPolicy.RETAIN,
  });
  Validations.of(secret).acknowledge({
    id: 'AwsSolutions::AwsSolutions-SMG4',
    reason:
      'Holds a Slack webhook URL and webhook tokens issued by third parties; they are rotated where they are issued (Slack, the registry), which a rotation Lambda cannot do.',
  });
  return secret;
}

/** The consumer: batches from the queue → history → policy → effects, reporting failed items. */
export function eventConsumer(
  stack: Stack,
  queue: IQueue,
  { environment, policyJson }: GuardSettings,
): TagwardenFunction {
  const consumer = new TagwardenFunction(stack, 'EcrEvents', {
    entry: join(ROOT, 'functions/aws/ecr-events.ts'),
    description: 'Tagwarden: registry events from the queue → history → policy → effects',
    timeout: CONSUMER_TIMEOUT,
    environment,
    ...policyOf(policyJson),
  });
  consumer.addEventSource(
    new SqsEventSource(queue, {
      batchSize: 10,
      maxBatchingWindow: Duration.seconds(1),
      reportBatchItemFailures: true,
    }),
  );
  return consumer;
}

export interface WebhookProps {
  queue: IQueue;
  secret: Secret;
  reservedConcurrency: number | undefined;
}

/**
 * The public webhook for third-party registries: it only authenticates, validates and enqueues,
 * with the queue and the secret (no table: Slack's clicks and agents' reports are Interactions').
 */
export function webhookFunction(
  stack: Stack,
  { queue, secret, reservedConcurrency }: WebhookProps,
): { webhook: TagwardenFunction; url: FunctionUrl } {
  const webhook = new TagwardenFunction(stack, 'Webhook', {
    entry: join(ROOT, 'functions/aws/webhook.ts'),
    description: 'Tagwarden: third-party registry webhooks → queue',
    timeout: Duration.seconds(10),
    environment: { QUEUE_URL: queue.queueUrl, SECRET_ARN: secret.secretArn },
    ...(reservedConcurrency !== undefined ? { reservedConcurrentExecutions: reservedConcurrency } : {}),
  });
  return { webhook, url: publicUrl(webhook, queue) };
}

/**
 * Slack's clicks (`/slack/actions`) and agents' drift reports (`/webhooks/agent`) on a Function URL
 * of their own (functions/aws/interactions.ts): both read and write the history table under the
 * policy; a click queues a revert in the outbox and wakes the consumer with a queue message.
 */
export function interactionsFunction(
  stack: Stack,
  { queue, secret, reservedConcurrency, guard }: WebhookProps & { guard: GuardSettings },
): { interactions: TagwardenFunction; url: FunctionUrl } {
  const interactions = new TagwardenFunction(stack, 'Interactions', {
    entry: join(ROOT, 'functions/aws/interactions.ts'),
    description: "Tagwarden: Slack's clicks and agents' drift reports → history",
    timeout: Duration.seconds(10),
    environment: {
      QUEUE_URL: queue.queueUrl,
      SECRET_ARN: secret.secretArn,
      TABLE_NAME: guard.environment.TABLE_NAME,
    },
    ...policyOf(guard.policyJson),
    ...(reservedConcurrency !== undefined ? { reservedConcurrentExecutions: reservedConcurrency } : {}),
  });
  return { interactions, url: publicUrl(interactions, queue) };
}

/**
 * A public Function URL for a function that sends to the queue. Auth NONE on purpose: registries
 * send a Bearer token or an HMAC signature, Slack and agents sign their bodies, none sends SigV4. The
 * handlers authenticate every request on its raw bytes (constant-time comparison) before parsing.
 * (cdk-nag's AwsSolutions pack has no rule on Function URL auth, so there is nothing to acknowledge.)
 */
function publicUrl(fn: TagwardenFunction, queue: IQueue): FunctionUrl {
  const url = fn.addFunctionUrl({ authType: FunctionUrlAuthType.NONE });
  // SendMessage only: what its code calls (grantSendMessages would add GetQueueAttributes and GetQueueUrl).
  fn.addToRolePolicy(new PolicyStatement({ actions: ['sqs:SendMessage'], resources: [queue.queueArn] }));
  queue.encryptionMasterKey?.grantEncryptDecrypt(fn);
  return url;
}

/**
 * The sweep and its two schedules: every six hours it reconciles history with ECR (for events that
 * never arrived); every minute it runs the effects that are due again.
 */
export function sweepFunction(stack: Stack, { environment, policyJson }: GuardSettings): TagwardenFunction {
  const sweep = new TagwardenFunction(stack, 'Sweep', {
    entry: join(ROOT, 'functions/aws/sweep.ts'),
    description: 'Tagwarden: reconcile history with ECR; run due effect retries',
    timeout: Duration.minutes(5),
    environment,
    ...policyOf(policyJson),
  });
  new Rule(stack, 'SweepSchedule', {
    description: 'Reconciles history with the registry, for events that never arrived',
    schedule: Schedule.rate(Duration.hours(6)),
    targets: [new LambdaFunction(sweep)],
  });
  new Rule(stack, 'OutboxSchedule', {
    description: 'Retries effects (reverts, alerts) that failed transiently',
    schedule: Schedule.rate(Duration.minutes(1)),
    targets: [new LambdaFunction(sweep, { event: RuleTargetInput.fromObject({ task: 'outbox' }) })],
  });
  return sweep;
}

/**
 * The baseline after each deploy: a custom resource whose provider is the sweep itself (no other
 * function). CloudFormation invokes the sweep on create, and again on every deploy that changes the
 * sweep's code (its asset key: the code, the policy built into it) or its repositories; the sweep
 * records the tags history has never seen, without effects (functions/aws/deploy-baseline.ts). It
 * always answers SUCCESS, so a failed baseline never rolls the deploy back; its outcome is the
 * `Result` attribute, which the stack outputs as BaselineResult. If the sweep cannot answer at all,
 * CloudFormation gives up after the service timeout and the deploy fails.
 */
export function postDeployBaseline(
  stack: Stack,
  sweep: TagwardenFunction,
  repositories: string,
): CustomResource {
  const code = (sweep.node.defaultChild as CfnFunction).code as CfnFunction.CodeProperty;
  return new CustomResource(stack, 'Baseline', {
    serviceToken: sweep.functionArn,
    resourceType: 'Custom::TagwardenBaseline',
    properties: { Task: 'baseline', SweepCode: code.s3Key, Repositories: repositories },
    serviceTimeout: sweep.timeout!.plus(Duration.minutes(1)),
  });
}
