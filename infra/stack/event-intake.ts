import { Duration, RemovalPolicy, type Stack, Validations } from 'aws-cdk-lib';
import { ReadWriteType, Trail } from 'aws-cdk-lib/aws-cloudtrail';
import { Rule } from 'aws-cdk-lib/aws-events';
import { SqsQueue } from 'aws-cdk-lib/aws-events-targets';
import { BlockPublicAccess, Bucket, BucketEncryption, type IBucket } from 'aws-cdk-lib/aws-s3';
import { type IQueue, Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';

/** The consumer's timeout; the queue's visibility timeout is six times this (Lambda's guidance for SQS). */
export const CONSUMER_TIMEOUT = Duration.seconds(30);

export interface EventQueues {
  queue: IQueue;
  /** Undefined when an existing queue was given (its dead-letter queue is its owner's). */
  deadLetterQueue: IQueue | undefined;
}

/** The queue every event goes through, with its dead-letter queue; or the existing queue given. */
export function eventQueues(stack: Stack, existingQueue: IQueue | undefined): EventQueues {
  if (existingQueue) return { queue: existingQueue, deadLetterQueue: undefined };
  const deadLetterQueue = new Queue(stack, 'DeadLetters', {
    encryption: QueueEncryption.SQS_MANAGED,
    enforceSSL: true,
    retentionPeriod: Duration.days(14),
  });
  const queue = new Queue(stack, 'Events', {
    encryption: QueueEncryption.SQS_MANAGED,
    enforceSSL: true,
    // Lambda's guidance: at least six times the consumer's timeout, so a slow batch is not
    // delivered a second time while it still runs.
    visibilityTimeout: Duration.seconds(CONSUMER_TIMEOUT.toSeconds() * 6),
    deadLetterQueue: { queue: deadLetterQueue, maxReceiveCount: 5 },
  });
  return { queue, deadLetterQueue };
}

/** ECR's successful pushes and deletes (of the guarded repositories, if any are named) → the queue. */
export function ecrImageActionsRule(stack: Stack, queue: IQueue, repositories: readonly string[]): Rule {
  return new Rule(stack, 'EcrImageActions', {
    description: 'ECR pushes and deletes to Tagwarden',
    eventPattern: {
      source: ['aws.ecr'],
      detailType: ['ECR Image Action'],
      detail: {
        'action-type': ['PUSH', 'DELETE'],
        result: ['SUCCESS'],
        ...(repositories.length > 0 ? { 'repository-name': [...repositories] } : {}),
      },
    },
    targets: [new SqsQueue(queue)],
  });
}

/**
 * ECR pushes refused because the tag is immutable → the queue: CloudTrail's "AWS API Call via
 * CloudTrail" event for a PutImage that failed with ImageTagAlreadyExistsException. EventBridge only
 * sees it when a trail logs management (write) events in the account and region: see `minimalTrail`.
 */
export function ecrOverwriteAttemptsRule(stack: Stack, queue: IQueue, repositories: readonly string[]): Rule {
  return new Rule(stack, 'EcrOverwriteAttempts', {
    description: 'ECR pushes refused at immutable tags (CloudTrail) to Tagwarden',
    eventPattern: {
      source: ['aws.ecr'],
      detailType: ['AWS API Call via CloudTrail'],
      detail: {
        eventSource: ['ecr.amazonaws.com'],
        eventName: ['PutImage'],
        errorCode: ['ImageTagAlreadyExistsException'],
        ...(repositories.length > 0 ? { requestParameters: { repositoryName: [...repositories] } } : {}),
      },
    },
    targets: [new SqsQueue(queue)],
  });
}

/**
 * Context `createTrail=true`, for an account with no trail: one single-region trail of write
 * management events only, into its own bucket (encrypted, TLS only, private, files expiring after
 * 90 days). The account's first copy of management events is free of CloudTrail charges; S3
 * storage and requests for the log files are billed (docs/attempts.md).
 */
export function minimalTrail(stack: Stack): Trail {
  const bucket = new Bucket(stack, 'TrailLogs', {
    encryption: BucketEncryption.S3_MANAGED,
    enforceSSL: true,
    blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
    lifecycleRules: [{ expiration: Duration.days(90) }],
    removalPolicy: RemovalPolicy.RETAIN,
  });
  Validations.of(bucket).acknowledge({
    id: 'AwsSolutions::AwsSolutions-S1',
    reason:
      'The trail bucket holds only CloudTrail log files; server access logs of it would be logs of logs.',
  });
  const trail = new Trail(stack, 'ManagementTrail', {
    // CDK's Bucket class declares isWebsite optional, IBucket required: the same object either way.
    bucket: bucket as unknown as IBucket,
    isMultiRegionTrail: false,
    includeGlobalServiceEvents: false,
    managementEvents: ReadWriteType.WRITE_ONLY,
    enableFileValidation: true,
  });
  Validations.of(trail).acknowledge({
    id: 'AwsSolutions::AwsSolutions-S1',
    reason:
      'The trail bucket holds only CloudTrail log files; server access logs of it would be logs of logs.',
  });
  return trail;
}
