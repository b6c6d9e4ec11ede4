import {
  BatchGetImageCommand,
  DescribeImagesCommand,
  DescribeRepositoriesCommand,
  ECRClient,
  PutImageCommand,
} from '@aws-sdk/client-ecr';
import { mockClient } from 'aws-sdk-client-mock';
import { buildAwsDependencies } from '../../functions/aws/dependencies';
import { answerDeploy, isCustomResourceEvent } from '../../functions/aws/deploy-baseline';
import { handleSweep, listEcrTags, registryOf } from '../../functions/aws/sweep';
import { EcrRegistry } from '../../shared/adapters/registry/ecr';
import { createHistoryTable } from '../../shared/history/dynamodb';
import { batchGetImage, manifestDigest, putImage } from '../support/aws-mocks';
import { type RunningDynamoDb, startDynamoDbLocal } from '../support/dynamodb-local';
import { RecordingNotifier } from '../support/recording-notifier';

const ACCOUNT = '123456789012';
const HOST = `${ACCOUNT}.dkr.ecr.us-west-2.amazonaws.com`;
const REPOSITORY = 'payments/api';
const MEDIA_TYPE = 'application/vnd.oci.image.manifest.v1+json';
const manifest = (seed: string) =>
  JSON.stringify({ schemaVersion: 2, mediaType: MEDIA_TYPE, config: { seed } });
const digestOf = manifestDigest;
const A = manifest('a');
const B = manifest('b');
const L = manifest('l');
const NOW = new Date('2026-11-22T10:00:00Z');

let dynamo: RunningDynamoDb;
let tables = 0;
const ecr = mockClient(ECRClient);
const client = () =>
  new ECRClient({ region: 'us-west-2', credentials: { accessKeyId: 'x', secretAccessKey: 'x' } });

beforeAll(async () => {
  dynamo = await startDynamoDbLocal();
}, 60_000);
afterAll(async () => {
  await dynamo?.stop();
});

/**
 * ECR as the mock serves it: `v1.0.0` points at `v1`, `latest` at L, over two DescribeImages pages
 * (with an untagged image and a tag no registry could hold, which the sweep must pass over).
 */
function ecrServes(v1: string) {
  ecr.reset();
  ecr.on(DescribeImagesCommand).callsFake((input: { nextToken?: string }) =>
    input.nextToken === 'page-2'
      ? {
          imageDetails: [
            { imageDigest: digestOf(L), imageTags: ['latest'], imageManifestMediaType: MEDIA_TYPE },
          ],
        }
      : {
          imageDetails: [
            {
              imageDigest: digestOf(v1),
              imageTags: ['v1.0.0', '-not-a-tag'],
              imageManifestMediaType: MEDIA_TYPE,
            },
            { imageTags: ['no-digest'] },
          ],
          nextToken: 'page-2',
        },
  );
  ecr
    .on(BatchGetImageCommand)
    .callsFake(batchGetImage((tag) => digestOf(tag === 'latest' ? L : v1), [A, B, L], MEDIA_TYPE));
  ecr.on(PutImageCommand).callsFake(putImage);
}

async function dependencies(notifier: RecordingNotifier) {
  const tableName = `sweep-${++tables}`;
  await createHistoryTable(dynamo.client, tableName);
  const registry = new EcrRegistry({ client: client(), registryId: ACCOUNT });
  return buildAwsDependencies({
    dynamodb: dynamo.client,
    registries: (host) => (host === HOST ? registry : null),
    notifier,
    repositoryOwners: async () => [],
    env: {
      TABLE_NAME: tableName,
      POLICY: JSON.stringify({
        rules: [
          { match: { repository: 'payments/*', tag: 'latest' }, action: 'allow' },
          { match: { repository: 'payments/*' }, action: 'revert', owners: ['#platform'] },
        ],
      }),
    },
  });
}

const registry = { registryId: ACCOUNT, host: HOST };
const putsUnder = (tag: string) =>
  ecr.commandCalls(PutImageCommand).filter((c) => c.args[0].input.imageTag === tag);

describe('the sweep Lambda with DynamoDB Local and a mocked ECR', () => {
  test('lists every tag of every page, skipping untagged images and invalid tags', async () => {
    ecrServes(A);
    expect(await listEcrTags(client(), ACCOUNT, REPOSITORY)).toEqual([
      { tag: 'v1.0.0', digest: digestOf(A), mediaType: MEDIA_TYPE },
      { tag: 'latest', digest: digestOf(L), mediaType: MEDIA_TYPE },
    ]);
    const asked = ecr.commandCalls(DescribeImagesCommand).map((c) => c.args[0].input);
    expect(asked.map((input) => [input.registryId, input.repositoryName, input.nextToken])).toEqual([
      [ACCOUNT, REPOSITORY, undefined],
      [ACCOUNT, REPOSITORY, 'page-2'],
    ]);
  });

  test('with no repositories configured, sweeps every repository of the registry, across pages', async () => {
    const deps = await dependencies(new RecordingNotifier());
    ecrServes(A);
    ecr
      .on(DescribeRepositoriesCommand)
      .callsFake((input: { nextToken?: string }) =>
        input.nextToken === 'more'
          ? { repositories: [{ repositoryName: 'payments/worker' }] }
          : { repositories: [{ repositoryName: REPOSITORY }, {}], nextToken: 'more' },
      );
    // Two tags in each of the two repositories (the mock serves the same tags for any repository).
    expect(await handleSweep(deps, undefined, client(), registry, [], () => NOW)).toEqual({
      checked: 4,
      differences: 4,
    });
    const listed = ecr.commandCalls(DescribeRepositoriesCommand).map((c) => c.args[0].input);
    expect(listed.map((input) => [input.registryId, input.nextToken])).toEqual([
      [ACCOUNT, undefined],
      [ACCOUNT, 'more'],
    ]);
    const swept = ecr.commandCalls(DescribeImagesCommand).map((c) => c.args[0].input.repositoryName);
    expect([...new Set(swept)]).toEqual([REPOSITORY, 'payments/worker']);
    // A configured list is swept as given: no listing.
    ecr.resetHistory();
    await handleSweep(deps, undefined, client(), registry, [REPOSITORY], () => NOW);
    expect(ecr.commandCalls(DescribeRepositoriesCommand)).toHaveLength(0);
  });

  test('records what history lacks, then finds an overwrite no event reported and reverts it', async () => {
    const notifier = new RecordingNotifier();
    const deps = await dependencies(notifier);
    ecrServes(A);
    expect(await handleSweep(deps, undefined, client(), registry, [REPOSITORY], () => NOW)).toEqual({
      checked: 2,
      differences: 2,
    });
    expect(putsUnder('v1.0.0')).toHaveLength(0);

    ecrServes(B);
    expect(await handleSweep(deps, {}, client(), registry, [REPOSITORY], () => NOW)).toEqual({
      checked: 2,
      differences: 1,
    });
    const rows = await deps.store.history({ registryHost: HOST, repository: REPOSITORY, tag: 'v1.0.0' });
    expect(rows.map((r) => [r.transition, r.digest])).toEqual([
      ['first-seen', digestOf(A)],
      ['overwrite', digestOf(B)],
    ]);
    expect(putsUnder('v1.0.0').map((c) => c.args[0].input.imageManifest)).toEqual([A]);
    expect(notifier.alerts).toHaveLength(1);
    expect(notifier.alerts[0]!.incident.owners).toEqual(['#platform']);
  }, 60_000);

  test('a baseline records only tags history has never seen, as first seen, with no effects', async () => {
    const notifier = new RecordingNotifier();
    const deps = await dependencies(notifier);
    ecrServes(A);
    await handleSweep(deps, { task: 'baseline' }, client(), registry, [REPOSITORY], () => NOW);
    // An overwrite events missed: a baseline leaves it to the sweep (no revert, no alert, no record).
    ecrServes(B);
    expect(
      await handleSweep(deps, { task: 'baseline' }, client(), registry, [REPOSITORY], () => NOW),
    ).toEqual({ checked: 2, differences: 0 });
    const rows = await deps.store.history({ registryHost: HOST, repository: REPOSITORY, tag: 'v1.0.0' });
    expect(rows.map((r) => [r.transition, r.digest])).toEqual([['first-seen', digestOf(A)]]);
    expect(putsUnder('v1.0.0')).toHaveLength(0);
    expect(notifier.alerts).toHaveLength(0);
    // A due effect waits for the next sweep or outbox run: the baseline runs none.
    let ran = 0;
    deps.runner.runDue = async () => {
      ran += 1;
      return 0;
    };
    await handleSweep(deps, { task: 'baseline' }, client(), registry, [REPOSITORY], () => NOW);
    expect(ran).toBe(0);
  }, 60_000);

  test("answers CloudFormation's baseline request with SUCCESS and the outcome, even when the baseline fails", async () => {
    const event = {
      RequestType: 'Update',
      ResponseURL: 'https://cloudformation-custom-resource-response.example/answer',
      StackId: 'arn:aws:cloudformation:us-west-2:123456789012:stack/Tagwarden/1',
      RequestId: 'request-1',
      LogicalResourceId: 'Baseline',
      PhysicalResourceId: 'tagwarden-baseline',
      ResourceType: 'Custom::TagwardenBaseline',
      ServiceToken: 'arn:aws:lambda:us-west-2:123456789012:function:sweep',
      ResourceProperties: { ServiceToken: 'x', Task: 'baseline' },
      OldResourceProperties: { ServiceToken: 'x', Task: 'baseline' },
    } as const;
    expect(isCustomResourceEvent(event)).toBe(true);
    expect(isCustomResourceEvent({ task: 'baseline' })).toBe(false);
    const context = { getRemainingTimeInMillis: () => 300_000, logStreamName: 'stream' };
    const answers: { url: string; init: RequestInit }[] = [];
    const send = (async (url: string, init: RequestInit) => {
      answers.push({ url, init });
      return new Response(null, { status: 200 });
    }) as typeof fetch;
    const ok = await answerDeploy(event, context, async () => ({ checked: 7, differences: 3 }), send);
    expect(ok.result).toBe('recorded 3 tag(s) history had not seen, of 7 the registry serves');
    const failed = await answerDeploy(
      event,
      context,
      async () => {
        throw new Error('ECR throttled DescribeImages');
      },
      send,
    );
    expect(failed.result).toMatch(
      /^failed: ECR throttled DescribeImages; run it by hand: aws lambda invoke .*"task":"baseline"/,
    );
    expect(answers.map((a) => [a.url, a.init.method])).toEqual([
      [event.ResponseURL, 'PUT'],
      [event.ResponseURL, 'PUT'],
    ]);
    const bodies = answers.map((a) => JSON.parse(String(a.init.body)));
    expect(bodies.map((b) => [b.Status, b.RequestId, b.LogicalResourceId, b.PhysicalResourceId])).toEqual([
      ['SUCCESS', 'request-1', 'Baseline', 'tagwarden-baseline'],
      ['SUCCESS', 'request-1', 'Baseline', 'tagwarden-baseline'],
    ]);
    expect(bodies[1].Data.Result).toBe(failed.result);
    // Out of time: it answers before Lambda would stop it, naming the command.
    const slow = await answerDeploy(
      event,
      { ...context, getRemainingTimeInMillis: () => 15_010 },
      () => new Promise(() => undefined),
      send,
    );
    expect(slow.result).toMatch(/^stopped: .*time ran out.*"task":"baseline"/);
  }, 60_000);

  test('the outbox task runs due effects and lists no repository', async () => {
    const notifier = new RecordingNotifier();
    const deps = await dependencies(notifier);
    ecrServes(A);
    await handleSweep(deps, undefined, client(), registry, [REPOSITORY], () => NOW);
    ecrServes(B);
    // A difference queued but not yet acted on (as if the previous run stopped after recording).
    const runDue = deps.runner.runDue.bind(deps.runner);
    let ran = 0;
    deps.runner.runDue = async () => {
      ran += 1;
      return ran === 1 ? 0 : runDue();
    };
    await handleSweep(deps, undefined, client(), registry, [REPOSITORY], () => NOW);
    expect(putsUnder('v1.0.0')).toHaveLength(0);
    ecr.resetHistory();

    expect(await handleSweep(deps, { task: 'outbox' }, client(), registry, [REPOSITORY], () => NOW)).toEqual({
      checked: 0,
      differences: 0,
    });
    expect(ecr.commandCalls(DescribeImagesCommand)).toHaveLength(0);
    expect(putsUnder('v1.0.0').map((c) => c.args[0].input.imageManifest)).toEqual([A]);
  }, 60_000);

  test('an outbox run with nothing to do publishes no metrics and logs no Powertools warning', async () => {
    const deps = await dependencies(new RecordingNotifier());
    ecrServes(A);
    const written: string[] = [];
    const capture = (stream: NodeJS.WriteStream) =>
      jest.spyOn(stream, 'write').mockImplementation((chunk: string | Uint8Array) => {
        written.push(String(chunk));
        return true;
      });
    const spies = [capture(process.stdout), capture(process.stderr)];
    const warn = jest.spyOn(console, 'warn').mockImplementation((...args) => {
      written.push(args.join(' '));
    });
    try {
      for (let minute = 0; minute < 3; minute++)
        await handleSweep(deps, { task: 'outbox' }, client(), registry, [REPOSITORY], () => NOW);
    } finally {
      for (const spy of [...spies, warn]) spy.mockRestore();
    }
    expect(written.filter((line) => /No application metrics|_aws/.test(line))).toEqual([]);
    // Something counted is still published (EMF, with the _aws envelope).
    deps.observer.rejected();
    const published = jest.spyOn(process.stdout, 'write').mockImplementation(() => true);
    const logged = jest.spyOn(console, 'log').mockImplementation(() => undefined);
    try {
      deps.observer.flush();
      const lines = [...published.mock.calls, ...logged.mock.calls].map((call) => String(call[0]));
      expect(lines.some((line) => line.includes('EventRejected'))).toBe(true);
    } finally {
      published.mockRestore();
      logged.mockRestore();
    }
  }, 60_000);

  test("reads the account, region and registry host from the function's own ARN", () => {
    expect(
      registryOf({ invokedFunctionArn: `arn:aws:lambda:eu-central-1:${ACCOUNT}:function:sweep` }),
    ).toEqual({
      registryId: ACCOUNT,
      region: 'eu-central-1',
      host: `${ACCOUNT}.dkr.ecr.eu-central-1.amazonaws.com`,
    });
    expect(
      registryOf({ invokedFunctionArn: `arn:aws-cn:lambda:cn-north-1:${ACCOUNT}:function:sweep` }).host,
    ).toBe(`${ACCOUNT}.dkr.ecr.cn-north-1.amazonaws.com.cn`);
  });
});
