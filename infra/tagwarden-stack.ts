import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  CfnElement,
  CfnOutput,
  Duration,
  RemovalPolicy,
  Stack,
  type StackProps,
  Validations,
} from 'aws-cdk-lib';
import {
  Alarm,
  ComparisonOperator,
  Dashboard,
  GraphWidget,
  Metric,
  TreatMissingData,
} from 'aws-cdk-lib/aws-cloudwatch';
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
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { FunctionUrlAuthType } from 'aws-cdk-lib/aws-lambda';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import { Secret } from 'aws-cdk-lib/aws-secretsmanager';
import { type IQueue, Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import { loadConfigText } from '../shared/config/load';
import { TagwardenFunction } from './tagwarden-function';

export interface TagwardenStackProps extends StackProps {
  /** The policy file's content (YAML or JSON); empty runs the built-in defaults. */
  policy?: string;
  /** ECR repositories to guard; empty guards every repository of the account (IAM on repository/*). */
  repositories?: string[];
  /** Use an existing history table or queue instead of creating them. */
  existingTable?: ITable;
  existingQueue?: IQueue;
}

const ROOT = join(__dirname, '..');
const CONSUMER_TIMEOUT = Duration.seconds(30);

/**
 * Tagwarden on AWS: ECR's EventBridge events and third-party webhooks → SQS (with a DLQ) → a
 * Lambda that records history in DynamoDB and acts through the ECR API; a scheduled sweep for what
 * events missed and for effect retries. Deployable with no props.
 */
export class TagwardenStack extends Stack {
  readonly table: ITable;
  readonly queue: IQueue;

  constructor(scope: Construct, id: string, props: TagwardenStackProps = {}) {
    super(scope, id, props);
    const repositories = props.repositories ?? [];

    this.table =
      props.existingTable ??
      (() => {
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
      })();

    const deadLetters = new Queue(this, 'DeadLetters', {
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    Validations.of(deadLetters).acknowledge({
      id: 'AwsSolutions::AwsSolutions-SQS3',
      reason: 'This is the dead-letter queue itself; it needs none of its own.',
    });
    this.queue =
      props.existingQueue ??
      new Queue(this, 'Events', {
        encryption: QueueEncryption.SQS_MANAGED,
        enforceSSL: true,
        // Lambda's guidance: at least six times the consumer's timeout, so retries do not overlap.
        visibilityTimeout: Duration.seconds(CONSUMER_TIMEOUT.toSeconds() * 6),
        deadLetterQueue: { queue: deadLetters, maxReceiveCount: 5 },
      });

    new Rule(this, 'EcrImageActions', {
      description: 'ECR pushes and deletes → Tagwarden',
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
      description:
        'Tagwarden: {"slackWebhookUrl": "...", "slackRoutes": {...}, "sources": {"<source>": {"token" | "secret": "..."}}}',
    });
    Validations.of(secret).acknowledge({
      id: 'AwsSolutions::AwsSolutions-SMG4',
      reason:
        'Holds a Slack webhook URL and webhook tokens issued by third parties; they are rotated where they are issued, not by a Lambda.',
    });

    const environment = {
      TABLE_NAME: this.table.tableName,
      SECRET_ARN: secret.secretArn,
      POLICY: props.policy ? policyJson(props.policy) : '',
      REPOSITORIES: repositories.join(','),
    };
    const consumer = new TagwardenFunction(this, 'EcrEvents', {
      entry: join(ROOT, 'functions/aws/ecr-events.ts'),
      timeout: CONSUMER_TIMEOUT,
      environment,
    });
    consumer.addEventSource(
      new SqsEventSource(this.queue, {
        batchSize: 10,
        maxBatchingWindow: Duration.seconds(1),
        reportBatchItemFailures: true,
      }),
    );

    const webhook = new TagwardenFunction(this, 'Webhook', {
      entry: join(ROOT, 'functions/aws/webhook.ts'),
      timeout: Duration.seconds(10),
      environment: { QUEUE_URL: this.queue.queueUrl, SECRET_ARN: secret.secretArn },
    });
    const url = webhook.addFunctionUrl({ authType: FunctionUrlAuthType.NONE });
    this.queue.grantSendMessages(webhook);

    const sweep = new TagwardenFunction(this, 'Sweep', {
      entry: join(ROOT, 'functions/aws/sweep.ts'),
      timeout: Duration.minutes(5),
      environment,
    });
    new Rule(this, 'SweepSchedule', {
      schedule: Schedule.rate(Duration.hours(6)),
      targets: [new LambdaFunction(sweep)],
    });
    new Rule(this, 'OutboxSchedule', {
      description: 'Retries effects (reverts, alerts) that failed transiently',
      schedule: Schedule.rate(Duration.minutes(1)),
      targets: [new LambdaFunction(sweep, { event: RuleTargetInput.fromObject({ task: 'outbox' }) })],
    });

    for (const fn of [consumer, sweep]) {
      this.table.grantReadWriteData(fn);
      fn.addToRolePolicy(
        new PolicyStatement({
          actions: [
            'ecr:BatchGetImage',
            'ecr:DescribeImages',
            'ecr:PutImage',
            'ecr:PutImageTagMutability',
            'ecr:ListTagsForResource',
            'ecr:DescribeRepositories',
          ],
          resources:
            repositories.length > 0
              ? repositories.map((name) =>
                  this.formatArn({ service: 'ecr', resource: 'repository', resourceName: name }),
                )
              : [this.formatArn({ service: 'ecr', resource: 'repository', resourceName: '*' })],
        }),
      );
    }
    for (const fn of [consumer, webhook, sweep]) {
      secret.grantRead(fn);
      Validations.of(fn).acknowledge(...this.iamAcknowledgements(repositories));
    }
    Validations.of(webhook).acknowledge({
      id: 'AwsSolutions::AwsSolutions-L1',
      reason: 'Node 24 is the latest Lambda runtime this CDK version knows; the rule lags new runtimes.',
    });

    new Alarm(this, 'DeadLettersNotEmpty', {
      alarmDescription: 'Events Tagwarden could not process: redrive them (README, "Deploy on AWS")',
      metric: deadLetters.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(1) }),
      threshold: 0,
      comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: TreatMissingData.NOT_BREACHING,
    });
    const metric = (metricName: string, statistic = 'Sum') =>
      new Metric({
        namespace: 'Tagwarden',
        metricName,
        statistic,
        period: Duration.minutes(5),
        dimensionsMap: { service: 'tagwarden' },
      });
    new Alarm(this, 'RevertFailed', {
      alarmDescription: 'A revert failed for good: the tag serves an unapproved digest',
      metric: metric('TagRevertFailed'),
      threshold: 1,
      comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: TreatMissingData.NOT_BREACHING,
    });
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
              this.queue.metricApproximateNumberOfMessagesVisible(),
              deadLetters.metricApproximateNumberOfMessagesVisible(),
            ],
          }),
          new GraphWidget({
            title: 'Function errors',
            left: [consumer.metricErrors(), webhook.metricErrors(), sweep.metricErrors()],
          }),
        ],
      ],
    });
    new CfnOutput(this, 'WebhookUrl', {
      value: url.url,
      description: 'POST /webhooks/<source> for third-party registries',
    });
  }

  /** cdk-nag findings acknowledged on each function, each with the evidence it names and a reason. */
  private iamAcknowledgements(repositories: string[]) {
    const acknowledgements = [
      {
        id: 'AwsSolutions::AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
        reason:
          'AWSLambdaBasicExecutionRole only lets the function write its own logs; CDK attaches it to every function.',
      },
    ];
    const cfnTable = this.table.node.defaultChild;
    if (cfnTable instanceof CfnElement) {
      acknowledgements.push({
        id: `AwsSolutions::AwsSolutions-IAM5[Resource::<${this.getLogicalId(cfnTable)}.Arn>/index/*]`,
        reason: 'The indexes of the one history table: the outbox is read through its index gsi1.',
      });
    }
    if (repositories.length === 0) {
      acknowledgements.push({
        id: 'AwsSolutions::AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:ecr:<AWS::Region>:<AWS::AccountId>:repository/*]',
        reason:
          'No repositories were configured (context repositories), so every ECR repository of this account and region is guarded.',
      });
    }
    return acknowledgements;
  }
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
