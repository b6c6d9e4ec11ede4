import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { CfnOutput, Duration, RemovalPolicy, Stack, type StackProps, Validations } from 'aws-cdk-lib';
import {
  Alarm,
  ComparisonOperator,
  Dashboard,
  GraphWidget,
  Metric,
  TreatMissingData,
} from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import {
  AttributeType,
  BillingMode,
  type ITable,
  ProjectionType,
  Table,
  TableEncryption,
} from 'aws-cdk-lib/aws-dynamodb';
import { Rule, RuleTargetInput, Schedule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction, SqsQueue } from 'aws-cdk-lib/aws-events-targets';
import { PolicyStatement, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Key } from 'aws-cdk-lib/aws-kms';
import { FunctionUrlAuthType, type IFunction } from 'aws-cdk-lib/aws-lambda';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import { Secret } from 'aws-cdk-lib/aws-secretsmanager';
import { type ITopic, Topic } from 'aws-cdk-lib/aws-sns';
import { EmailSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import { type IQueue, Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import type { Construct, Node } from 'constructs';
import { loadConfigText } from '../shared/config/load';
import { TagwardenFunction } from './tagwarden-function';

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
   * Reserved concurrency of the public webhook function, so a flood of requests cannot take all of
   * the account's concurrency. Left out: none reserved (a new account's limit of 10 leaves no room).
   */
  webhookReservedConcurrency?: number;
}

/** The ECR actions Tagwarden uses: read digests and manifests, put a manifest back, lock tags, read owners. */
export const ECR_ACTIONS = [
  'ecr:BatchGetImage',
  'ecr:DescribeImages',
  'ecr:PutImage',
  'ecr:PutImageTagMutability',
  'ecr:ListTagsForResource',
  'ecr:DescribeRepositories',
];

/** The consumer's timeout; the queue's visibility timeout is six times this (Lambda's guidance for SQS). */
export const CONSUMER_TIMEOUT = Duration.seconds(30);

/** The project root (where package.json is), whether this file runs from infra/ or bundled elsewhere. */
function projectRoot(from = __dirname): string {
  let dir = from;
  while (!existsSync(join(dir, 'package.json'))) {
    const parent = dirname(dir);
    if (parent === dir) return join(__dirname, '..');
    dir = parent;
  }
  return dir;
}
const ROOT = projectRoot();

/**
 * Tagwarden on AWS: ECR's EventBridge events and third-party webhooks → SQS (with a DLQ) → a
 * Lambda that records history in DynamoDB and acts through the ECR API; a scheduled sweep for what
 * events missed and for effect retries. Deployable with no props: safe defaults (encryption, TLS
 * only, DLQ, point-in-time recovery, retained history) are on.
 */
export class TagwardenStack extends Stack {
  readonly table: ITable;
  readonly queue: IQueue;
  /** Undefined when an existing queue was given (its dead-letter queue is its owner's). */
  readonly deadLetterQueue: IQueue | undefined;
  readonly consumer: TagwardenFunction;
  readonly webhook: TagwardenFunction;
  readonly sweep: TagwardenFunction;

  constructor(scope: Construct, id: string, props: TagwardenStackProps = {}) {
    super(scope, id, props);
    const repositories = props.repositories ?? [];

    this.table = props.existingTable ?? this.historyTable();

    if (props.existingQueue) {
      this.queue = props.existingQueue;
      this.deadLetterQueue = undefined;
    } else {
      const deadLetters = new Queue(this, 'DeadLetters', {
        encryption: QueueEncryption.SQS_MANAGED,
        enforceSSL: true,
        retentionPeriod: Duration.days(14),
      });
      this.deadLetterQueue = deadLetters;
      this.queue = new Queue(this, 'Events', {
        encryption: QueueEncryption.SQS_MANAGED,
        enforceSSL: true,
        // Lambda's guidance: at least six times the consumer's timeout, so a slow batch is not
        // delivered a second time while it still runs.
        visibilityTimeout: Duration.seconds(CONSUMER_TIMEOUT.toSeconds() * 6),
        deadLetterQueue: { queue: deadLetters, maxReceiveCount: 5 },
      });
    }

    new Rule(this, 'EcrImageActions', {
      description: 'ECR pushes and deletes to Tagwarden',
      eventPattern: {
        source: ['aws.ecr'],
        detailType: ['ECR Image Action'],
        detail: {
          'action-type': ['PUSH', 'DELETE'],
          result: ['SUCCESS'],
          ...(repositories.length > 0 ? { 'repository-name': repositories } : {}),
        },
      },
      targets: [new SqsQueue(this.queue)],
    });

    const secret = new Secret(this, 'Secrets', {
      secretName: props.secretName ?? 'tagwarden/secrets',
      description:
        'Tagwarden: {"slackWebhookUrl": "...", "slackRoutes": {...}, "sources": {"<source>": {"token" | "secret": "..."}}}',
    });
    Validations.of(secret).acknowledge({
      id: 'AwsSolutions::AwsSolutions-SMG4',
      reason:
        'Holds a Slack webhook URL and webhook tokens issued by third parties; they are rotated where they are issued (Slack, the registry), which a rotation Lambda cannot do.',
    });

    const environment = {
      TABLE_NAME: this.table.tableName,
      SECRET_ARN: secret.secretArn,
      POLICY: props.policy ? policyJson(props.policy) : '',
      REPOSITORIES: repositories.join(','),
    };
    this.consumer = new TagwardenFunction(this, 'EcrEvents', {
      entry: join(ROOT, 'functions/aws/ecr-events.ts'),
      description: 'Tagwarden: registry events from the queue → history → policy → effects',
      timeout: CONSUMER_TIMEOUT,
      environment,
    });
    this.consumer.addEventSource(
      new SqsEventSource(this.queue, {
        batchSize: 10,
        maxBatchingWindow: Duration.seconds(1),
        reportBatchItemFailures: true,
      }),
    );

    // The webhook only authenticates, validates and enqueues: it needs the queue and the tokens,
    // not the table or the policy.
    this.webhook = new TagwardenFunction(this, 'Webhook', {
      entry: join(ROOT, 'functions/aws/webhook.ts'),
      description: 'Tagwarden: third-party registry webhooks → queue',
      timeout: Duration.seconds(10),
      environment: { QUEUE_URL: this.queue.queueUrl, SECRET_ARN: secret.secretArn },
      ...(props.webhookReservedConcurrency !== undefined
        ? { reservedConcurrentExecutions: props.webhookReservedConcurrency }
        : {}),
    });
    // Auth NONE on purpose: registries send a Bearer token or an HMAC signature, not SigV4. The
    // handler authenticates every request on its raw bytes (constant-time comparison) before
    // parsing, with the tokens from the secret, and rejects unknown sources. (cdk-nag's
    // AwsSolutions pack has no rule on Function URL auth, so there is nothing to acknowledge.)
    const url = this.webhook.addFunctionUrl({ authType: FunctionUrlAuthType.NONE });
    this.queue.grantSendMessages(this.webhook);

    this.sweep = new TagwardenFunction(this, 'Sweep', {
      entry: join(ROOT, 'functions/aws/sweep.ts'),
      description: 'Tagwarden: reconcile history with ECR; run due effect retries',
      timeout: Duration.minutes(5),
      environment,
    });
    new Rule(this, 'SweepSchedule', {
      description: 'Reconciles history with the registry, for events that never arrived',
      schedule: Schedule.rate(Duration.hours(6)),
      targets: [new LambdaFunction(this.sweep)],
    });
    new Rule(this, 'OutboxSchedule', {
      description: 'Retries effects (reverts, alerts) that failed transiently',
      schedule: Schedule.rate(Duration.minutes(1)),
      targets: [new LambdaFunction(this.sweep, { event: RuleTargetInput.fromObject({ task: 'outbox' }) })],
    });

    const ecrResources =
      repositories.length > 0
        ? repositories.map((name) =>
            this.formatArn({ service: 'ecr', resource: 'repository', resourceName: name }),
          )
        : [this.formatArn({ service: 'ecr', resource: 'repository', resourceName: '*' })];
    for (const fn of [this.consumer, this.sweep]) {
      this.table.grantReadWriteData(fn);
      fn.addToRolePolicy(new PolicyStatement({ actions: ECR_ACTIONS, resources: ecrResources }));
      // On the role: cdk-nag reports the finding on the role's policy, and CDK matches an
      // acknowledgement to the finding's construct or one of its parents.
      Validations.of(fn.role!).acknowledge(
        {
          id: `AwsSolutions::AwsSolutions-IAM5[${nagResource(this, `${this.table.tableArn}/index/*`)}]`,
          reason:
            'grantReadWriteData covers the indexes of the one history table: the outbox is read through its index gsi1.',
        },
        ...(repositories.length > 0
          ? []
          : ecrResources.map((arn) => ({
              id: `AwsSolutions::AwsSolutions-IAM5[${nagResource(this, arn)}]`,
              reason:
                'No repositories were configured (context repositories), so every ECR repository of this account and region is guarded; configure them to scope this.',
            }))),
      );
    }
    for (const fn of [this.consumer, this.webhook, this.sweep]) secret.grantRead(fn);

    this.observability(this.alarmTopic(props));

    new CfnOutput(this, 'WebhookUrl', {
      value: url.url,
      description: 'POST <url>/webhooks/<source> for third-party registries',
    });
    new CfnOutput(this, 'HistoryTable', { value: this.table.tableName });
    new CfnOutput(this, 'Queue', { value: this.queue.queueUrl });
    if (this.deadLetterQueue)
      new CfnOutput(this, 'DeadLetterQueue', { value: this.deadLetterQueue.queueArn });
    new CfnOutput(this, 'SecretArn', { value: secret.secretArn });
  }

  private historyTable(): ITable {
    const table = new Table(this, 'History', {
      partitionKey: { name: 'pk', type: AttributeType.STRING },
      sortKey: { name: 'sk', type: AttributeType.STRING },
      billingMode: BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      encryption: TableEncryption.AWS_MANAGED,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    table.addGlobalSecondaryIndex({
      indexName: 'gsi1',
      partitionKey: { name: 'gsi1pk', type: AttributeType.STRING },
      sortKey: { name: 'gsi1sk', type: AttributeType.STRING },
      projectionType: ProjectionType.ALL,
    });
    // CDK's types predate exactOptionalPropertyTypes: a Table is an ITable, the checker disagrees.
    return table as unknown as ITable;
  }

  /**
   * Where alarms go. A topic of the stack's own is encrypted with a key of its own: CloudWatch cannot
   * publish to a topic under the AWS-managed SNS key, whose policy does not let it use the key.
   */
  private alarmTopic(props: TagwardenStackProps): ITopic {
    if (props.alarmTopicArn) return Topic.fromTopicArn(this, 'AlarmTopic', props.alarmTopicArn);
    const key = new Key(this, 'AlarmTopicKey', {
      description: 'Encrypts the Tagwarden alarm topic',
      enableKeyRotation: true,
    });
    key.grant(new ServicePrincipal('cloudwatch.amazonaws.com'), 'kms:Decrypt', 'kms:GenerateDataKey*');
    const topic = new Topic(this, 'AlarmTopic', {
      displayName: 'Tagwarden alarms',
      masterKey: key,
      enforceSSL: true,
    });
    if (props.alarmEmail) topic.addSubscription(new EmailSubscription(props.alarmEmail));
    return topic;
  }

  /**
   * Alarms on dead letters, failed reverts and effects that failed for good (an alert nobody got),
   * sent to the alarm topic; one dashboard. Metrics are Powertools' (dimension service).
   */
  private observability(topic: ITopic): void {
    const notify = new SnsAction(topic);
    const metric = (metricName: string, statistic = 'Sum') =>
      new Metric({
        namespace: 'Tagwarden',
        metricName,
        statistic,
        period: Duration.minutes(5),
        dimensionsMap: { service: 'tagwarden' },
      });
    if (this.deadLetterQueue) {
      new Alarm(this, 'DeadLettersNotEmpty', {
        alarmDescription: 'Events Tagwarden could not process: redrive them (README, "Deploy on AWS")',
        metric: this.deadLetterQueue.metricApproximateNumberOfMessagesVisible({
          period: Duration.minutes(1),
          statistic: 'Maximum',
        }),
        threshold: 0,
        comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: TreatMissingData.NOT_BREACHING,
      }).addAlarmAction(notify);
    }
    new Alarm(this, 'RevertFailed', {
      alarmDescription: 'A revert failed for good: the tag serves an unapproved digest',
      metric: metric('TagRevertFailed'),
      threshold: 0,
      comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: TreatMissingData.NOT_BREACHING,
    }).addAlarmAction(notify);
    new Alarm(this, 'EffectFailed', {
      alarmDescription:
        'An effect (revert, lock, alert) failed for good; if it was an alert, nobody was told in Slack. See the consumer logs.',
      metric: metric('EffectFailed'),
      threshold: 0,
      comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: TreatMissingData.NOT_BREACHING,
    }).addAlarmAction(notify);
    const functions: IFunction[] = [this.consumer, this.webhook, this.sweep];
    new Dashboard(this, 'Dashboard', {
      widgets: [
        [
          new GraphWidget({
            title: 'Overwrites and reverts',
            left: [metric('TagOverwriteDetected'), metric('TagReverted'), metric('TagRevertFailed')],
          }),
          new GraphWidget({
            title: 'Detection latency (ms)',
            left: [metric('DetectionLatencyMs', 'p99'), metric('DetectionLatencyMs', 'Average')],
          }),
        ],
        [
          new GraphWidget({
            title: 'Queue and dead letters',
            left: [
              this.queue.metricApproximateNumberOfMessagesVisible({ label: 'queue' }),
              ...(this.deadLetterQueue
                ? [this.deadLetterQueue.metricApproximateNumberOfMessagesVisible({ label: 'dead letters' })]
                : []),
            ],
          }),
          new GraphWidget({
            title: 'Function errors',
            left: functions.map((fn) => fn.metricErrors({ label: fn.node.id })),
          }),
        ],
      ],
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
  if (concurrency !== undefined && !/^\d+$/.test(concurrency))
    throw new Error(
      `context webhookReservedConcurrency must be a whole number, not ${JSON.stringify(concurrency)}`,
    );
  if (alarmEmail !== undefined && !/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(alarmEmail))
    throw new Error(`context alarmEmail must be an e-mail address, not ${JSON.stringify(alarmEmail)}`);
  if (
    alarmTopicArn !== undefined &&
    !/^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]+$/.test(alarmTopicArn)
  )
    throw new Error(`context alarmTopicArn must be an SNS topic ARN, not ${JSON.stringify(alarmTopicArn)}`);
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
  };
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

/** YAML policy text → the JSON the functions read (only `defaults` and `rules`; secrets stay out). */
export function policyJson(text: string, file = 'policy'): string {
  const loaded = loadConfigText(text, { file, env: {}, policyOnly: true });
  if (!loaded.ok) throw new Error(loaded.errors.join('\n'));
  return JSON.stringify({ defaults: loaded.config.defaults, rules: loaded.config.rules });
}

/**
 * How cdk-nag names a resource in a finding (`Resource::<Logical.Arn>/index/*`,
 * `Resource::arn:<AWS::Partition>:ecr:…`): the resolved value with Ref/GetAtt flattened, so each
 * acknowledgement names exactly the resource it accepts, for new and existing tables alike.
 */
export function nagResource(stack: Stack, value: string): string {
  const flatten = (node: unknown): string => {
    if (typeof node === 'string') return node.replace(/\$\{/g, '<').replace(/\}/g, '>');
    if (node && typeof node === 'object') {
      const o = node as Record<string, unknown>;
      if (Array.isArray(o['Fn::Join'])) {
        const [delimiter, items] = o['Fn::Join'] as [string, unknown[]];
        return items.map(flatten).join(delimiter);
      }
      if (o['Fn::Sub'] !== undefined) return flatten(o['Fn::Sub']);
      if (Array.isArray(o['Fn::GetAtt'])) {
        const [resource, attribute] = o['Fn::GetAtt'] as [unknown, unknown];
        return `<${flatten(resource)}.${flatten(attribute)}>`;
      }
      if (o['Fn::ImportValue'] !== undefined) return flatten(o['Fn::ImportValue']);
      if (o.Ref !== undefined) return `<${flatten(o.Ref)}>`;
    }
    return JSON.stringify(node);
  };
  return `Resource::${flatten(stack.resolve(value))}`;
}
