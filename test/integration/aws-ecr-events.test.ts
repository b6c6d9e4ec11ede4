import {
  BatchGetImageCommand,
  ECRClient,
  ListTagsForResourceCommand,
  PutImageCommand,
} from '@aws-sdk/client-ecr';
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { Context, SQSEvent, SQSRecord } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { type AwsDependencies, buildAwsDependencies } from '../../functions/aws/dependencies';
import { handleBatch } from '../../functions/aws/ecr-events';
import { powertoolsLogger } from '../../functions/aws/runtime';
import { EcrRegistry } from '../../shared/adapters/registry/ecr';
import { DigestBump, TIMESTAMP_HEADER } from '../../shared/contracts/cluster-bump/payload';
import { decodeOutcome } from '../../shared/guard/effects';
import { createHistoryTable } from '../../shared/history/dynamodb';
import attemptFixture from '../fixtures/ecr/cloudtrail-putimage-tag-exists.json';
import pushFixture from '../fixtures/ecr/push-valid.json';
import { batchGetImage, manifestDigest, putImage, secretsManagerHolding } from '../support/aws-mocks';
import { type ClusterReceiver, startClusterReceiver } from '../support/cluster-receiver';
import { type RunningDynamoDb, startDynamoDbLocal } from '../support/dynamodb-local';
import { RecordingNotifier } from '../support/recording-notifier';

const HOST = '123456789012.dkr.ecr.us-west-2.amazonaws.com';
const REPOSITORY = 'payments/api';
const context = {
  functionName: 'tagwarden-ecr-events',
  awsRequestId: 'r',
  invokedFunctionArn: 'arn:aws:lambda:us-west-2:123456789012:function:x',
} as Context;
const manifest = (seed: string) =>
  JSON.stringify({
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { seed },
  });
const digestOf = manifestDigest;
const A = manifest('a');
const B = manifest('b');

let dynamo: RunningDynamoDb;
let tables = 0;
const ecr = mockClient(ECRClient);

beforeAll(async () => {
  dynamo = await startDynamoDbLocal();
}, 60_000);
afterAll(async () => {
  await dynamo?.stop();
});

/** An EventBridge "ECR Image Action" as ECR sends it (the documented shape), inside an SQS record. */
function record(id: string, text: string, time: string, tag = 'v1.0.0'): SQSRecord {
  const event = {
    ...pushFixture,
    id,
    time,
    detail: {
      ...pushFixture.detail,
      'repository-name': REPOSITORY,
      'image-digest': digestOf(text),
      'image-tag': tag,
    },
  };
  return {
    messageId: `m-${id}`,
    receiptHandle: 'h',
    body: JSON.stringify(event),
    attributes: {},
    messageAttributes: {},
    md5OfBody: '',
    eventSource: 'aws:sqs',
    eventSourceARN: 'arn:aws:sqs:us-west-2:123456789012:q',
    awsRegion: 'us-west-2',
  } as unknown as SQSRecord;
}
const batch = (...records: SQSRecord[]): SQSEvent => ({ Records: records });

async function dependencies(
  notifier?: RecordingNotifier,
  options: { policy?: unknown; secretsManager?: SecretsManagerClient } = {},
): Promise<AwsDependencies> {
  const tableName = `aws-${++tables}`;
  await createHistoryTable(dynamo.client, tableName);
  const client = new ECRClient({
    region: 'us-west-2',
    credentials: { accessKeyId: 'x', secretAccessKey: 'x' },
  });
  const registry = new EcrRegistry({ client, registryId: '123456789012' });
  return buildAwsDependencies({
    dynamodb: dynamo.client,
    registries: (host) => (host === HOST ? registry : null),
    ...(notifier ? { notifier } : {}),
    ...(options.secretsManager ? { secretsManager: options.secretsManager } : {}),
    env: {
      TABLE_NAME: tableName,
      POLICY: JSON.stringify(
        options.policy ?? {
          rules: [{ match: { repository: 'payments/*' }, action: 'revert', owners: ['#platform'] }],
        },
      ),
      ...(options.secretsManager ? { SECRET_ARN } : {}),
    },
  });
}

const SECRET_ARN = 'arn:aws:secretsmanager:us-west-2:123456789012:secret:tagwarden-AbCdEf';
const CLUSTER_SECRET = 'aws-cluster-hmac-key-0123456789';

/** Secrets Manager (mocked) serving the Tagwarden secret with this JSON, as the stack's secret holds it. */
const secretHolding = (secret: unknown) => secretsManagerHolding('us-west-2', SECRET_ARN, secret);

/** ECR as the mock serves it: the tag points at `serving`, and both manifests exist by digest. */
function ecrServes(serving: string) {
  ecr.reset();
  ecr
    .on(BatchGetImageCommand)
    .callsFake(batchGetImage(() => digestOf(serving), [A, B], 'application/vnd.oci.image.manifest.v1+json'));
  ecr.on(PutImageCommand).callsFake(putImage);
}

const putsUnder = (tag: string) =>
  ecr.commandCalls(PutImageCommand).filter((c) => c.args[0].input.imageTag === tag);

describe('the ECR events Lambda with DynamoDB Local and a mocked ECR', () => {
  test('an overwrite of a revert-protected tag ends in PutImage of the old manifest text; redelivery and a late event change nothing', async () => {
    const deps = await dependencies();
    ecrServes(A);
    expect(await handleBatch(deps, batch(record('e1', A, '2026-11-22T10:00:00Z')), context)).toEqual({
      batchItemFailures: [],
    });
    ecrServes(B);
    await handleBatch(deps, batch(record('e2', B, '2026-11-22T10:05:00Z')), context);
    expect(putsUnder('v1.0.0').map((c) => c.args[0].input.imageManifest)).toEqual([A]);
    expect(putsUnder('v1.0.0')[0]!.args[0].input.imageDigest).toBe(digestOf(A));

    // The same EventBridge event again, and an older one arriving late: no second revert.
    ecrServes(A);
    await handleBatch(
      deps,
      batch(record('e2', B, '2026-11-22T10:05:00Z'), record('e0', B, '2026-11-22T09:00:00Z')),
      context,
    );
    expect(putsUnder('v1.0.0')).toHaveLength(0);
    const rows = await deps.store.history({ registryHost: HOST, repository: REPOSITORY, tag: 'v1.0.0' });
    expect(rows.map((r) => r.transition)).toEqual(['first-seen', 'overwrite', 'stale']);
  }, 60_000);

  test('reports a record that fails on the way in batchItemFailures and loses nothing else of the batch', async () => {
    const deps = await dependencies();
    ecrServes(A);
    const apply = deps.store.apply.bind(deps.store);
    deps.store.apply = async (event, policy, receivedAt) => {
      if (event.id === 'ecr:boom') throw new Error('ProvisionedThroughputExceededException');
      return apply(event, policy, receivedAt);
    };
    const result = await handleBatch(
      deps,
      batch(
        record('ok-1', A, '2026-11-22T10:00:00Z', 'v1'),
        record('boom', A, '2026-11-22T10:00:00Z', 'v2'),
        record('ok-2', A, '2026-11-22T10:00:00Z', 'v3'),
      ),
      context,
    );
    expect(result).toEqual({ batchItemFailures: [{ itemIdentifier: 'm-boom' }] });
    for (const tag of ['v1', 'v3']) {
      expect(await deps.store.history({ registryHost: HOST, repository: REPOSITORY, tag })).toHaveLength(1);
    }
  }, 60_000);

  test('keeps a record that can never be processed as a failed record and acknowledges it', async () => {
    const deps = await dependencies();
    const bad = { ...record('x', A, '2026-11-22T10:00:00Z'), body: '{"not": "an event"}' } as SQSRecord;
    expect(await handleBatch(deps, batch(bad), context)).toEqual({ batchItemFailures: [] });
    const failures = await deps.store.failures(10);
    expect(failures).toHaveLength(1);
    expect(failures[0]!.source).toBe('sqs');
  }, 60_000);

  test('keeps a record of 4,000 rejected items as one failed record holding the body once', async () => {
    const deps = await dependencies();
    // EventBridge events without a detail: ECR's format, every item invalid (a bare array of `{}` is
    // not the format at all and is refused whole). 4,000 of them stay under SQS's 256 KiB.
    const item = '{"source":"aws.ecr","detail-type":"ECR Image Action"}';
    const body = `[${Array.from({ length: 4000 }, () => item).join(',')}]`;
    const items = { ...record('many', A, '2026-11-22T10:00:00Z'), body } as SQSRecord;
    expect(await handleBatch(deps, batch(items), context)).toEqual({ batchItemFailures: [] });
    const failures = await deps.store.failures(10);
    expect(failures).toHaveLength(1);
    expect(failures[0]!.payload === body).toBe(true);
    expect(failures[0]!.reason).toMatch(/^4000 items rejected: \[0\]: .*; and 3980 more$/);
  }, 60_000);

  test("alerts go to the policy's owners and to those in the repository's tagwarden:owners tag", async () => {
    const notifier = new RecordingNotifier();
    const deps = await dependencies(notifier);
    ecrServes(A);
    ecr.on(ListTagsForResourceCommand).resolves({
      tags: [
        { Key: 'team', Value: 'payments' },
        { Key: 'tagwarden:owners', Value: '#payments, @alice #platform' },
      ],
    });
    await handleBatch(deps, batch(record('o1', A, '2026-11-22T10:00:00Z')), context);
    ecrServes(B);
    ecr
      .on(ListTagsForResourceCommand)
      .resolves({ tags: [{ Key: 'tagwarden:owners', Value: '#payments, @alice #platform' }] });
    await handleBatch(deps, batch(record('o2', B, '2026-11-22T10:05:00Z')), context);
    expect(notifier.alerts).toHaveLength(1);
    expect(notifier.alerts[0]!.incident.owners).toEqual(['#platform', '#payments', '@alice']);
    const asked = ecr.commandCalls(ListTagsForResourceCommand).map((c) => c.args[0].input.resourceArn);
    expect(asked).toEqual([`arn:aws:ecr:us-west-2:123456789012:repository/${REPOSITORY}`]);
  }, 60_000);

  test('an alert whose repository owners cannot be read still reaches the policy owners, saying why', async () => {
    const notifier = new RecordingNotifier();
    const deps = await dependencies(notifier);
    ecrServes(A);
    await handleBatch(deps, batch(record('d1', A, '2026-11-22T10:00:00Z')), context);
    ecrServes(B);
    ecr
      .on(ListTagsForResourceCommand)
      .rejects(Object.assign(new Error('not authorized'), { name: 'AccessDeniedException' }));
    await handleBatch(deps, batch(record('d2', B, '2026-11-22T10:05:00Z')), context);
    expect(notifier.alerts).toHaveLength(1);
    expect(notifier.alerts[0]!.incident.owners).toEqual(['#platform']);
    expect(notifier.alerts[0]!.notes.join(' ')).toMatch(
      /Owners from the repository's tags could not be read/,
    );
  }, 60_000);

  test('two pushes of one tag in one batch are recorded in the order they were sent, whatever order SQS hands them over', async () => {
    const notifier = new RecordingNotifier();
    const deps = await dependencies(notifier);
    ecrServes(B);
    const sentAt = (record: SQSRecord, ms: number) =>
      ({ ...record, attributes: { ...record.attributes, SentTimestamp: String(ms) } }) as SQSRecord;
    const older = sentAt(record('s1', A, '2026-11-22T10:00:00Z'), 1_000);
    const newer = sentAt(record('s2', B, '2026-11-22T10:00:01Z'), 1_001);
    // Handed over newer first, as a standard queue may.
    expect(await handleBatch(deps, batch(newer, older), context)).toEqual({ batchItemFailures: [] });
    const rows = await deps.store.history({ registryHost: HOST, repository: REPOSITORY, tag: 'v1.0.0' });
    expect(rows.map((r) => [r.eventId, r.transition])).toEqual([
      ['ecr:s1', 'first-seen'],
      ['ecr:s2', 'overwrite'],
    ]);
    expect(putsUnder('v1.0.0').map((c) => c.args[0].input.imageManifest)).toEqual([A]);
  }, 60_000);

  test('two pushes of a new tag handled by different invocations, newer first: the older is found overwritten and put back', async () => {
    const notifier = new RecordingNotifier();
    const deps = await dependencies(notifier);
    ecrServes(B);
    await handleBatch(deps, batch(record('n2', B, '2026-11-22T11:00:01Z', 'v2.0.0')), context);
    await handleBatch(deps, batch(record('n1', A, '2026-11-22T11:00:00Z', 'v2.0.0')), context);
    const rows = await deps.store.history({ registryHost: HOST, repository: REPOSITORY, tag: 'v2.0.0' });
    expect(rows.map((r) => [r.eventId, r.transition])).toEqual([
      ['ecr:n2', 'first-seen'],
      ['ecr:n1', 'overwritten'],
    ]);
    expect(putsUnder('v2.0.0').map((c) => c.args[0].input.imageManifest)).toEqual([A]);
    expect(notifier.alerts).toHaveLength(1);
    expect(notifier.alerts[0]!.incident).toMatchObject({ from: digestOf(A), to: digestOf(B), actor: null });
  }, 60_000);
});

/** A refused PutImage ("AWS API Call via CloudTrail", the fixture's shape) at our tag, in an SQS record. */
function attemptRecord(id: string, time: string): SQSRecord {
  const detail = {
    ...attemptFixture.detail,
    eventTime: time,
    awsRegion: 'us-west-2',
    requestParameters: {
      ...attemptFixture.detail.requestParameters,
      repositoryName: REPOSITORY,
      imageTag: 'v1.0.0',
    },
  };
  const event = { ...attemptFixture, id, time, region: 'us-west-2', detail };
  return { ...record(id, A, time), body: JSON.stringify(event) } as SQSRecord;
}

describe('refused pushes (CloudTrail) through the ECR events Lambda', () => {
  test('a CI job retrying a push at a locked tag gets one grouped alert naming who, from where and the digest still served', async () => {
    const notifier = new RecordingNotifier();
    const deps = await dependencies(notifier);
    ecrServes(A);
    await handleBatch(deps, batch(record('p1', A, '2026-11-22T10:00:00Z')), context);
    const retries = ['10:01:00', '10:01:20', '10:01:40'].map((t, i) =>
      attemptRecord(`t${i}`, `2026-11-22T${t}Z`),
    );
    expect(await handleBatch(deps, batch(...retries), context)).toEqual({ batchItemFailures: [] });
    expect(notifier.alerts).toHaveLength(1);
    const [alert] = notifier.alerts;
    expect(alert!.title).toBe('Overwrite attempt blocked');
    expect(alert!.incident).toMatchObject({
      from: digestOf(A),
      to: null,
      actor: 'arn:aws:sts::123456789012:assumed-role/ci-deploy/ci-runner',
    });
    expect(alert!.actionTaken).toContain(`the tag still serves ${digestOf(A)}`);
    expect(alert!.notes.join(' ')).toContain('From: 203.0.113.12, user agent docker/24.0.7');
    // Nothing was changed at the registry, and the tag's history keeps each attempt as its own row.
    expect(ecr.commandCalls(PutImageCommand)).toHaveLength(0);
    const rows = await deps.store.history({ registryHost: HOST, repository: REPOSITORY, tag: 'v1.0.0' });
    expect(rows.map((r) => r.transition)).toEqual(['first-seen', 'attempt', 'attempt', 'attempt']);
    expect(
      (await deps.store.tagState({ registryHost: HOST, repository: REPOSITORY, tag: 'v1.0.0' }))?.lastAttempt,
    ).toMatchObject({ count: 3 });
  }, 60_000);
});

describe('the first run, with the secret as the stack creates it', () => {
  test('records and alerts to the log with the secret still {}, and says Slack is not set', async () => {
    const written: string[] = [];
    const stderr = jest.spyOn(process.stderr, 'write').mockImplementation((chunk) => {
      written.push(String(chunk));
      return true;
    });
    const warn = jest.spyOn(powertoolsLogger, 'warn').mockImplementation(() => undefined);
    try {
      const deps = await dependencies(undefined, { secretsManager: secretHolding({}) });
      expect(warn).toHaveBeenCalledWith(
        expect.stringContaining('has no slackWebhookUrl: alerts go to this log'),
        {
          secret: SECRET_ARN,
        },
      );
      ecrServes(A);
      await handleBatch(deps, batch(record('f1', A, '2026-11-22T10:00:00Z')), context);
      ecrServes(B);
      expect(await handleBatch(deps, batch(record('f2', B, '2026-11-22T10:05:00Z')), context)).toEqual({
        batchItemFailures: [],
      });
      await deps.runner.runDue();
      const rows = await deps.store.history({ registryHost: HOST, repository: REPOSITORY, tag: 'v1.0.0' });
      expect(rows.map((r) => r.transition)).toEqual(['first-seen', 'overwrite']);
      expect(written.join('')).toContain(REPOSITORY);
    } finally {
      stderr.mockRestore();
      warn.mockRestore();
    }
  }, 60_000);
});

describe('cluster bumps from the ECR events Lambda (clusters in the Tagwarden secret)', () => {
  let receiver: ClusterReceiver;
  beforeAll(async () => {
    receiver = await startClusterReceiver(CLUSTER_SECRET);
  });
  afterAll(async () => {
    await receiver?.close();
  });

  test('an allowed move of a bump: true tag ends in one signed call to the cluster endpoint of the secret', async () => {
    const deps = await dependencies(new RecordingNotifier(), {
      policy: { rules: [{ match: { tag: 'latest' }, action: 'allow', bump: true }] },
      secretsManager: secretHolding({
        clusters: [{ name: 'prod-eu', url: receiver.url, secret: CLUSTER_SECRET }],
      }),
    });
    ecrServes(A);
    await handleBatch(deps, batch(record('b1', A, '2026-11-22T12:00:00Z', 'latest')), context);
    expect(receiver.calls).toHaveLength(0);
    ecrServes(B);
    await handleBatch(deps, batch(record('b2', B, '2026-11-22T12:05:00Z', 'latest')), context);

    expect(receiver.refused).toEqual([]);
    expect(receiver.calls).toHaveLength(1);
    const call = receiver.calls[0]!;
    const bump = DigestBump.parse(JSON.parse(call.body.toString()));
    expect(bump).toMatchObject({
      registryHost: HOST,
      repository: REPOSITORY,
      tag: 'latest',
      previousDigest: digestOf(A),
      digest: digestOf(B),
      reason: 'moved',
    });
    expect(call.headers[TIMESTAMP_HEADER.toLowerCase()]).toBe(bump.timestamp);
    // Allowed: the tag is left on the new digest, and the bump is recorded as sent.
    expect(putsUnder('latest')).toHaveLength(0);
    const planned = (await deps.store.effectsOf('ecr:b2')).find((e) => e.kind === 'bump');
    expect(planned).toMatchObject({ status: 'done' });
    expect(decodeOutcome(planned!.outcome)).toEqual({ kind: 'fannedOut', clusters: ['prod-eu'] });
  }, 60_000);

  test('a cluster list in the secret that does not validate stops the function from starting, naming the field', async () => {
    const start = dependencies(undefined, {
      secretsManager: secretHolding({
        clusters: [{ name: 'prod-eu', url: 'ftp://cluster.example.com/bump', secret: CLUSTER_SECRET }],
      }),
    });
    await expect(start).rejects.toThrow(
      "the Tagwarden secret's clusters are invalid: clusters[0].url: expected an http:// or https:// URL",
    );
    // One line, and the secret's values stay out of it.
    const message = await start.catch((error: Error) => error.message);
    expect(message).not.toContain('\n');
    expect(message).not.toContain(CLUSTER_SECRET);

    await expect(
      dependencies(undefined, {
        secretsManager: secretHolding({ clusters: [{ name: 'prod-eu', url: receiver.url }] }),
      }),
    ).rejects.toThrow(/clusters\[0\]\.secret: format tagwarden signs every call: set secret/);
  }, 60_000);
});
