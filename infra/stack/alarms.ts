import { Duration, type Stack } from 'aws-cdk-lib';
import {
  Alarm,
  ComparisonOperator,
  Dashboard,
  GraphWidget,
  type IMetric,
  Metric,
  TreatMissingData,
} from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import { ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Key } from 'aws-cdk-lib/aws-kms';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { type ITopic, Topic } from 'aws-cdk-lib/aws-sns';
import { EmailSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import type { EventQueues } from './event-intake';

/**
 * Where alarms go: the existing topic named, else a topic of the stack's own, encrypted with a key of
 * its own (CloudWatch cannot publish to a topic under the AWS-managed SNS key, whose policy does not
 * let it use the key), with the e-mail address subscribed if one is given.
 */
export function alarmTopic(stack: Stack, props: { alarmTopicArn?: string; alarmEmail?: string }): ITopic {
  if (props.alarmTopicArn) return Topic.fromTopicArn(stack, 'AlarmTopic', props.alarmTopicArn);
  const key = new Key(stack, 'AlarmTopicKey', {
    description: 'Encrypts the Tagwarden alarm topic',
    enableKeyRotation: true,
  });
  key.grant(new ServicePrincipal('cloudwatch.amazonaws.com'), 'kms:Decrypt', 'kms:GenerateDataKey*');
  const topic = new Topic(stack, 'AlarmTopic', {
    displayName: 'Tagwarden alarms',
    masterKey: key,
    enforceSSL: true,
  });
  if (props.alarmEmail) topic.addSubscription(new EmailSubscription(props.alarmEmail));
  return topic;
}

/** A Powertools metric of the Tagwarden namespace (dimension service), over five minutes. */
function tagwardenMetric(metricName: string, statistic = 'Sum'): Metric {
  return new Metric({
    namespace: 'Tagwarden',
    metricName,
    statistic,
    period: Duration.minutes(5),
    dimensionsMap: { service: 'tagwarden' },
  });
}

/** An alarm as soon as the metric is above zero once; no data is no trouble. */
function anyAbove0(stack: Stack, id: string, alarmDescription: string, metric: IMetric, topic: ITopic): void {
  new Alarm(stack, id, {
    alarmDescription,
    metric,
    threshold: 0,
    comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
    evaluationPeriods: 1,
    treatMissingData: TreatMissingData.NOT_BREACHING,
  }).addAlarmAction(new SnsAction(topic));
}

/**
 * Alarms on dead letters, failed reverts and effects that failed for good (an alert nobody got),
 * sent to the alarm topic.
 */
export function alarms(stack: Stack, topic: ITopic, { deadLetterQueue }: EventQueues): void {
  if (deadLetterQueue)
    anyAbove0(
      stack,
      'DeadLettersNotEmpty',
      'Events Tagwarden could not process: redrive them (README, "Deploy on AWS")',
      deadLetterQueue.metricApproximateNumberOfMessagesVisible({
        period: Duration.minutes(1),
        statistic: 'Maximum',
      }),
      topic,
    );
  anyAbove0(
    stack,
    'RevertFailed',
    'A revert failed for good: the tag serves an unapproved digest',
    tagwardenMetric('TagRevertFailed'),
    topic,
  );
  anyAbove0(
    stack,
    'EffectFailed',
    'An effect (revert, lock, alert) failed for good; if it was an alert, nobody was told in Slack. See the consumer logs.',
    tagwardenMetric('EffectFailed'),
    topic,
  );
}

/** One dashboard: overwrites and reverts, detection latency, the queues, the functions' errors. */
export function dashboard(
  stack: Stack,
  { queue, deadLetterQueue }: EventQueues,
  functions: IFunction[],
): void {
  const metric = tagwardenMetric;
  new Dashboard(stack, 'Dashboard', {
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
            queue.metricApproximateNumberOfMessagesVisible({ label: 'queue' }),
            ...(deadLetterQueue
              ? [deadLetterQueue.metricApproximateNumberOfMessagesVisible({ label: 'dead letters' })]
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
