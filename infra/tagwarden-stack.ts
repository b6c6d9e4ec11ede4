import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import type { Construct, Node } from 'constructs';
import { loadConfigText } from '../shared/config/load';
import { deployedPolicyJson } from '../shared/config/policy-schema';
import { SOURCE_MAPS_CONTEXT } from './lambda-bundling';
import { alarms, alarmTopic, dashboard } from './stack/alarms';
import {
  ecrImageActionsRule,
  ecrOverwriteAttemptsRule,
  eventQueues,
  minimalTrail,
} from './stack/event-intake';
import {
  eventConsumer,
  interactionsFunction,
  postDeployBaseline,
  sweepFunction,
  tagwardenSecret,
  webhookFunction,
} from './stack/functions';
import { historyTable } from './stack/history-table';
import {
  CONSUMER_ECR_ACTIONS,
  grantDriftLog,
  grantGuarding,
  grantHistory,
  grantSecretRead,
  SWEEP_ECR_ACTIONS,
} from './stack/permissions';
import { ROOT } from './stack/project-root';
import type { TagwardenFunction } from './tagwarden-function';

export { CONSUMER_TIMEOUT } from './stack/event-intake';
export {
  CONSUMER_ECR_ACTIONS,
  HISTORY_TABLE_ACTIONS,
  nagResource,
  SECRET_ACTIONS,
  SWEEP_ECR_ACTIONS,
} from './stack/permissions';

export interface TagwardenStackProps extends StackProps {
  /** The policy file's content (YAML or JSON); empty runs the built-in defaults. */
  policy?: string;
  /** ECR repositories to guard; empty guards every repository of the account (IAM on repository/*). */
  repositories?: string[];
  /**
   * An existing history table (keys pk/sk, index gsi1 on gsi1pk/gsi1sk) instead of a new one.
   * Its encryption, backups and retention are its owner's.
   */
  existingTable?: ITable;
  /**
   * An existing queue instead of a new one (and its dead-letter queue). Its owner gives it a redrive
   * policy, a visibility timeout of at least six times the consumer's (3 minutes), and a resource
   * policy that lets EventBridge send to it; the dead-letter alarm is then left out.
   */
  existingQueue?: IQueue;
  /** Name of the Secrets Manager secret holding the Slack webhook URL and source tokens. */
  secretName?: string;
  /** Where alarms go: an existing SNS topic. Left out, the stack creates an encrypted topic. */
  alarmTopicArn?: string;
  /** An e-mail address subscribed to the alarm topic the stack creates (confirmed by a link). */
  alarmEmail?: string;
  /**
   * Reserved concurrency of each public function (the webhook, the interactions function), so a flood cannot take all of
   * the account's concurrency. Left out: none reserved (a new account's limit of 10 leaves no room).
   */
  webhookReservedConcurrency?: number;
  /**
   * Create a minimal trail (write management events, this region, its own bucket) so EventBridge
   * sees ECR's refused pushes; for accounts with no trail (docs/attempts.md).
   */
  createTrail?: boolean;
}

/**
 * Tagwarden on AWS: ECR's EventBridge events and third-party webhooks → SQS (with a DLQ) → a
 * Lambda that records history in DynamoDB and acts through the ECR API; a scheduled sweep for what
 * events missed and for effect retries. Deployable with no props: safe defaults (encryption, TLS
 * only, DLQ, point-in-time recovery, retained history) are on.
 *
 * Each part (infra/stack/) builds its resources in this stack's own scope, in the order below, so
 * logical ids and the template stay those of stacks already deployed.
 */
export class TagwardenStack extends Stack {
  readonly table: ITable;
  readonly queue: IQueue;
  /** Undefined when an existing queue was given (its dead-letter queue is its owner's). */
  readonly deadLetterQueue: IQueue | undefined;
  readonly consumer: TagwardenFunction;
  readonly webhook: TagwardenFunction;
  /** Slack's clicks and agents' drift reports: the one function on a Function URL with the table. */
  readonly interactions: TagwardenFunction;
  readonly sweep: TagwardenFunction;

  constructor(scope: Construct, id: string, props: TagwardenStackProps = {}) {
    super(scope, id, props);
    const repositories = props.repositories ?? [];
    this.table = props.existingTable ?? historyTable(this);
    const queues = eventQueues(this, props.existingQueue);
    this.queue = queues.queue;
    this.deadLetterQueue = queues.deadLetterQueue;
    ecrImageActionsRule(this, this.queue, repositories);
    ecrOverwriteAttemptsRule(this, this.queue, repositories);
    if (props.createTrail) minimalTrail(this);
    const secretName = props.secretName ?? `${this.stackName}/secrets`;
    const secret = tagwardenSecret(this, secretName);

    const guard = {
      environment: {
        TABLE_NAME: this.table.tableName,
        SECRET_ARN: secret.secretArn,
        REPOSITORIES: repositories.join(','),
      },
      policyJson: props.policy ? policyJson(props.policy) : undefined,
    };
    this.consumer = eventConsumer(this, this.queue, guard);
    const reservedConcurrency = props.webhookReservedConcurrency;
    const { webhook, url } = webhookFunction(this, { queue: this.queue, secret, reservedConcurrency });
    this.webhook = webhook;
    const interactions = interactionsFunction(this, {
      queue: this.queue,
      secret,
      reservedConcurrency,
      guard,
    });
    this.interactions = interactions.interactions;
    grantHistory(this.interactions, this.table);
    grantDriftLog(this.interactions, this.table);
    this.sweep = sweepFunction(this, guard);
    grantGuarding(
      this,
      [
        { fn: this.consumer, ecrActions: CONSUMER_ECR_ACTIONS },
        { fn: this.sweep, ecrActions: SWEEP_ECR_ACTIONS },
      ],
      this.table,
      repositories,
    );
    for (const fn of [this.consumer, this.webhook, this.interactions, this.sweep])
      grantSecretRead(secret, fn);
    const baseline = postDeployBaseline(this, this.sweep, guard.environment.REPOSITORIES);

    alarms(this, alarmTopic(this, props), queues);
    dashboard(this, queues, [this.consumer, this.webhook, this.interactions, this.sweep]);

    new CfnOutput(this, 'WebhookUrl', {
      value: url.url,
      description: 'POST <url>/webhooks/<source> for third-party registries',
    });
    new CfnOutput(this, 'InteractionsUrl', {
      value: interactions.url.url,
      description:
        "Slack's interactivity: POST <url>/slack/actions; agents' --report-url: <url>/webhooks/agent",
    });
    new CfnOutput(this, 'HistoryTable', { value: this.table.tableName });
    new CfnOutput(this, 'Queue', { value: this.queue.queueUrl });
    if (this.deadLetterQueue)
      new CfnOutput(this, 'DeadLetterQueue', { value: this.deadLetterQueue.queueArn });
    new CfnOutput(this, 'SecretArn', { value: secret.secretArn });
    new CfnOutput(this, 'SweepFunction', {
      value: this.sweep.functionName,
      description:
        "Reconcile history with ECR now (every configured repository, else all): aws lambda invoke --function-name <SweepFunction> --payload '{}' --cli-binary-format raw-in-base64-out sweep.json",
    });
    new CfnOutput(this, 'BaselineResult', {
      value: baseline.getAttString('Result'),
      description:
        'What the baseline after this deploy did (tags history had not seen, recorded as first seen, no effects); it never rolls the deploy back',
    });
    new CfnOutput(this, 'SecretName', {
      value: secretName,
      description:
        'Fill it (JSON) with: aws secretsmanager put-secret-value --secret-id <SecretName> --secret-string file://tagwarden-secret.json',
    });
  }
}

/** Context → props, so `cdk deploy` needs none: `-c repositories=a,b` and `-c policyFile=<file>`. */
export function propsFromContext(node: Node): TagwardenStackProps {
  const context = (key: string): string | undefined => {
    const value = node.tryGetContext(key);
    return value === undefined || value === null || value === '' ? undefined : String(value);
  };
  const secretName = context('secretName');
  const alarmTopicArn = context('alarmTopicArn');
  const alarmEmail = context('alarmEmail');
  const concurrency = context('webhookReservedConcurrency');
  const createTrail = trueOrFalse('createTrail', context('createTrail'));
  // Read by each TagwardenFunction; checked here so a typo fails synth instead of shipping without maps.
  trueOrFalse(SOURCE_MAPS_CONTEXT, context(SOURCE_MAPS_CONTEXT));
  // Reserved concurrency 0 is a valid Lambda setting that throttles every request: never what is meant.
  if (concurrency !== undefined && !/^[1-9]\d*$/.test(concurrency))
    throw new Error(
      `context webhookReservedConcurrency must be a whole number of 1 or more (0 would refuse every request), not ${JSON.stringify(concurrency)}`,
    );
  if (alarmEmail !== undefined && !/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(alarmEmail))
    throw new Error(`context alarmEmail must be an e-mail address, not ${JSON.stringify(alarmEmail)}`);
  if (
    alarmTopicArn !== undefined &&
    !/^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]+$/.test(alarmTopicArn)
  )
    throw new Error(`context alarmTopicArn must be an SNS topic ARN, not ${JSON.stringify(alarmTopicArn)}`);
  if (alarmEmail !== undefined && alarmTopicArn !== undefined)
    throw new Error(
      'context alarmEmail subscribes to the topic the stack creates, and alarmTopicArn replaces that topic: give one of them (subscribe the address to your topic yourself)',
    );
  return {
    ...(alarmTopicArn ? { alarmTopicArn } : {}),
    ...(alarmEmail ? { alarmEmail } : {}),
    ...(concurrency !== undefined ? { webhookReservedConcurrency: Number(concurrency) } : {}),
    policy: readPolicyFile(context('policyFile')),
    repositories: (context('repositories') ?? '')
      .split(',')
      .map((r) => r.trim())
      .filter(Boolean),
    ...(secretName ? { secretName } : {}),
    ...(createTrail ? { createTrail: true } : {}),
  };
}

/** A true/false context flag; anything else fails synthesis with one line. */
function trueOrFalse(key: string, value: string | undefined): boolean {
  if (value !== undefined && value !== 'true' && value !== 'false')
    throw new Error(`context ${key} must be true or false, not ${JSON.stringify(value)}`);
  return value === 'true';
}

/**
 * The policy to deploy: the file named by context `policyFile`, else ./tagwarden.yaml if present,
 * validated now (a mistake fails `cdk synth` with file, line and column) and deployed as JSON.
 */
export function readPolicyFile(path: string | undefined): string {
  const file = path ?? join(ROOT, 'tagwarden.yaml');
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    if (path) throw new Error(`policy file ${path} cannot be read: ${(error as Error).message}`);
    return '';
  }
  return policyJson(text, file);
}

/** YAML policy text → the JSON the functions read (only the policy keys; secrets stay out). */
export function policyJson(text: string, file = 'policy'): string {
  const loaded = loadConfigText(text, { file, env: {}, policyOnly: true });
  if (!loaded.ok) throw new Error(loaded.errors.join('\n'));
  return deployedPolicyJson(loaded.config);
}
