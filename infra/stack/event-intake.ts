import { Duration, type Stack } from 'aws-cdk-lib';
import { Rule } from 'aws-cdk-lib/aws-events';
import { SqsQueue } from 'aws-cdk-lib/aws-events-targets';
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
