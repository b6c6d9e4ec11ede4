/**
 * A stand-in for Amazon SQS (awsJson1_0, `AmazonSQS.<Operation>`) on 127.0.0.1: queues named by the
 * test, SendMessage answered with the body's MD5 (the SDK checks it), and what Lambda's event source
 * mapping would hand a consumer: the waiting messages as an SQS event.
 *
 *   const sqs = await startFakeSqs({ account: '123456789012', region: 'eu-west-1' });
 *   const url = sqs.createQueue('Events');     // http://127.0.0.1:<port>/123456789012/Events
 *   sqs.send(url, JSON.stringify(event));      // as EventBridge delivers to a queue target
 *   const batch = sqs.receive(url);            // { Records: [...] }, the queue emptied
 */
import { createHash, randomUUID } from 'node:crypto';
import type { SQSEvent, SQSRecord } from 'aws-lambda';
import { AwsJsonError, type AwsJsonService, startAwsJsonService } from './fake-aws-json';

export interface FakeSqs {
  service: AwsJsonService;
  endpoint: string;
  createQueue(name: string): string;
  arnOf(url: string): string;
  send(url: string, body: string): string;
  /** The waiting messages as Lambda's SQS event source hands them over (at most ten), taken off the queue. */
  receive(url: string): SQSEvent;
  depth(url: string): number;
  stop(): Promise<void>;
}

const md5 = (text: string) => createHash('md5').update(text).digest('hex');

export async function startFakeSqs(options: { account: string; region: string }): Promise<FakeSqs> {
  const queues = new Map<string, SQSRecord[]>();
  const queueOf = (url: unknown) => {
    const queue = queues.get(String(url));
    if (!queue)
      throw new AwsJsonError('QueueDoesNotExist', `The specified queue ${String(url)} does not exist.`);
    return queue;
  };
  const arnOf = (url: string) => `arn:aws:sqs:${options.region}:${options.account}:${url.split('/').pop()}`;
  const send = (url: string, body: string) => {
    const queue = queueOf(url);
    const messageId = randomUUID();
    queue.push({
      messageId,
      receiptHandle: randomUUID(),
      body,
      attributes: {
        ApproximateReceiveCount: '1',
        SentTimestamp: String(Date.now()),
        SenderId: 'AROAREHEARSAL',
        ApproximateFirstReceiveTimestamp: String(Date.now()),
      },
      messageAttributes: {},
      md5OfBody: md5(body),
      eventSource: 'aws:sqs',
      eventSourceARN: arnOf(url),
      awsRegion: options.region,
    });
    return messageId;
  };
  const service = await startAwsJsonService('1.0', {
    SendMessage: (input: { QueueUrl: string; MessageBody: string }) => ({
      MessageId: send(input.QueueUrl, input.MessageBody),
      MD5OfMessageBody: md5(input.MessageBody),
    }),
  });
  return {
    service,
    endpoint: service.endpoint,
    createQueue: (name) => {
      const url = `${service.endpoint}/${options.account}/${name}`;
      queues.set(url, []);
      return url;
    },
    arnOf,
    send,
    receive: (url) => ({ Records: queueOf(url).splice(0, 10) }),
    depth: (url) => queueOf(url).length,
    stop: () => service.stop(),
  };
}
