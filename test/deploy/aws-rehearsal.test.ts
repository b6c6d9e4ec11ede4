import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SQSBatchResponse } from 'aws-lambda';
import { DynamoDbHistoryStore } from '../../shared/history/dynamodb';
import { type RunningDynamoDb, startDynamoDbLocal } from '../support/dynamodb-local';
import { type CloudFormationResponses, startCloudFormationResponses } from '../support/fake-cloudformation';
import { type FakeEcr, startFakeEcr } from '../support/fake-ecr';
import { type FakeSecretsManager, startFakeSecretsManager } from '../support/fake-secrets-manager';
import { type FakeSqs, startFakeSqs } from '../support/fake-sqs';
import { type SlackStub, startSlackStub } from '../support/slack-stub';
import { type DeployedFunction, type Invocation, invoke, type LambdaAccount } from './aws-lambda';
import { logicalId, matchesPattern, type Properties, RehearsedStack, readAssembly } from './aws-stack';
import { postDeploySteps, secretWriteBlock } from './aws-steps';

// docs/aws.md, rehearsed: `cdk synth` as a user runs it, the template deployed on loopback stand-ins
// (DynamoDB Local; ECR, SQS and Secrets Manager speaking the SDK's JSON protocols), each function's
// bundle from cdk.out run as Lambda runs it, then the page's post-deploy steps in its order. The
// tests of this file are those steps: each starts where the one before left the deployment.

const ROOT = join(__dirname, '..', '..');
// Each step starts cold processes (Lambda containers) on a machine that may be busy.
jest.setTimeout(120_000);
const ACCOUNT = '123456789012';
const REGION = 'eu-west-1';
const POLICY = 'rules:\n  - match: { repository: "payments/*" }\n    action: revert\n';
const HARBOR_TOKEN = 'rehearsal-harbor-token-0123456789';
const manifest = (name: string) =>
  JSON.stringify({
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    annotations: { name },
  });

let work: string;
let stack: RehearsedStack;
let functions: DeployedFunction[];
let dynamo: RunningDynamoDb;
let ecr: FakeEcr;
let sqs: FakeSqs;
let secrets: FakeSecretsManager;
let slack: SlackStub;
let cfn: CloudFormationResponses;
let account: LambdaAccount;
const steps = postDeploySteps(readFileSync(join(ROOT, 'docs', 'aws.md'), 'utf8'));

/** `npx cdk synth` as docs/aws.md has the user run `cdk deploy`, offline and without AWS credentials. */
function synth(outDir: string): void {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('AWS_')));
  const result = spawnSync(
    'npx',
    ['cdk', 'synth', '--quiet', '-o', outDir, '-c', `policyFile=${join(work, 'tagwarden.yaml')}`],
    { cwd: ROOT, env: { ...env, CDK_DISABLE_CLI_TELEMETRY: 'true' }, encoding: 'utf8', timeout: 300_000 },
  );
  if (result.status !== 0) throw new Error(`cdk synth failed:\n${result.stderr}`);
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'tagwarden-aws-rehearsal-'));
  writeFileSync(join(work, 'tagwarden.yaml'), POLICY);
  const outDir = join(work, 'cdk.out');
  synth(outDir);
  [dynamo, ecr, sqs, secrets, slack, cfn] = await Promise.all([
    startDynamoDbLocal({ readyWithinMs: 120_000 }),
    startFakeEcr({ account: ACCOUNT, region: REGION, pageSize: 1 }),
    startFakeSqs({ account: ACCOUNT, region: REGION }),
    startFakeSecretsManager({ account: ACCOUNT, region: REGION }),
    startSlackStub(),
    startCloudFormationResponses(),
  ]);
  // Images pushed before Tagwarden was deployed: no event ever tells it about them.
  ecr.push('payments/api', 'v0', manifest('api v0'));
  ecr.push('web/site', '1.0', manifest('site 1.0'));
  const { stackName, template } = readAssembly(outDir);
  stack = new RehearsedStack(
    template,
    outDir,
    { stackName, account: ACCOUNT, region: REGION },
    {
      dynamodb: dynamo.client,
      sqs,
      secretsManager: secrets,
    },
  );
  await stack.deploy();
  functions = stack.functions();
  account = {
    region: REGION,
    accessKeyId: 'AKIAREHEARSALROLE',
    secretAccessKey: 'rehearsal-secret-key',
    endpoints: {
      AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint,
      AWS_ENDPOINT_URL_ECR: ecr.endpoint,
      AWS_ENDPOINT_URL_SQS: sqs.endpoint,
      AWS_ENDPOINT_URL_SECRETS_MANAGER: secrets.endpoint,
    },
  };
}, 420_000);

afterAll(async () => {
  await Promise.all([dynamo?.stop(), ecr?.stop(), sqs?.stop(), secrets?.stop(), slack?.close(), cfn?.stop()]);
  if (work) rmSync(work, { recursive: true, force: true });
});

// --- the deployment, read from the template --------------------------------------------------

const functionById = (id: string) => functions.find((f) => f.id === id) ?? fail(`no deployed function ${id}`);
/** The consumer: the function an SQS event source mapping feeds, with its queue. */
const consumer = () => {
  const mapping = stack.one('AWS::Lambda::EventSourceMapping').properties;
  return {
    fn: functionById(logicalId(mapping.FunctionName)),
    queueUrl: stack.ref(logicalId(mapping.EventSourceArn)),
  };
};
/** The function behind the Function URL a stack output (`WebhookUrl`, `InteractionsUrl`) names. */
const behindUrl = (output: string) => {
  const url = logicalId(stack.template.Outputs![output]!.Value);
  const found = stack.ofType('AWS::Lambda::Url').find(([id]) => id === url) ?? fail(`no Function URL ${url}`);
  return functionById(logicalId(found[1].Properties!.TargetFunctionArn));
};
/** The registry webhook, and Slack's clicks and agents' reports. */
const webhook = () => behindUrl('WebhookUrl');
const interactions = () => behindUrl('InteractionsUrl');
/** The sweep: the function the stack output `SweepFunction` names. */
const sweep = () => functionById(logicalId(stack.template.Outputs!.SweepFunction!.Value));
/** The schedules of a function: each rule's input as EventBridge sends it (a Scheduled Event when none). */
const schedulesOf = (fn: DeployedFunction) =>
  stack.ofType('AWS::Events::Rule').flatMap(([id, rule]) =>
    (rule.Properties?.Targets ?? [])
      .filter((t: Properties) => rule.Properties?.ScheduleExpression && logicalId(t.Arn) === fn.id)
      .map((t: Properties) => ({
        id,
        expression: rule.Properties!.ScheduleExpression as string,
        event: t.Input !== undefined ? JSON.parse(t.Input) : scheduledEvent(id),
      })),
  );
const scheduledEvent = (rule: string) => ({
  version: '0',
  id: `rehearsal-${rule}`,
  'detail-type': 'Scheduled Event',
  source: 'aws.events',
  account: ACCOUNT,
  time: new Date().toISOString(),
  region: REGION,
  resources: [`arn:aws:events:${REGION}:${ACCOUNT}:rule/${rule}`],
  detail: {},
});

/** EventBridge: the event to the target queue of every rule whose pattern it matches. */
function deliver(event: Properties): number {
  const rules = stack
    .ofType('AWS::Events::Rule')
    .filter(
      ([, rule]) => rule.Properties?.EventPattern && matchesPattern(rule.Properties.EventPattern, event),
    );
  for (const [, rule] of rules)
    for (const target of rule.Properties!.Targets)
      sqs.send(stack.ref(logicalId(target.Arn)), JSON.stringify(event));
  return rules.length;
}

async function run(fn: DeployedFunction, event: unknown): Promise<Invocation & { ok: true }> {
  const outcome = await invoke(fn, account, event);
  if (!outcome.ok)
    throw new Error(`${fn.id} failed: ${outcome.errorType}: ${outcome.errorMessage}\n${outcome.logs}`);
  return outcome;
}

/** Lambda's SQS event source: the waiting records to the consumer; no record may fail. */
async function consume(): Promise<string> {
  const { fn, queueUrl } = consumer();
  const batch = sqs.receive(queueUrl);
  expect(batch.Records.length).toBeGreaterThan(0);
  const outcome = await run(fn, batch);
  expect((outcome.result as SQSBatchResponse).batchItemFailures).toEqual([]);
  return outcome.logs;
}

const store = () =>
  new DynamoDbHistoryStore({
    client: dynamo.client,
    tableName: functionById(consumer().fn.id).environment.TABLE_NAME!,
  });
const stateOf = (repository: string, tag: string) =>
  store().tagState({ registryHost: ecr.host, repository, tag });

function urlEvent(source: string, body: string, headers: Record<string, string>) {
  return {
    version: '2.0',
    routeKey: '$default',
    rawPath: `/webhooks/${source}`,
    rawQueryString: '',
    headers: { 'content-type': 'application/json', ...headers },
    requestContext: { http: { method: 'POST', path: `/webhooks/${source}`, sourceIp: '203.0.113.9' } },
    body,
    isBase64Encoded: false,
  };
}
const HARBOR_PUSH = readFileSync(join(ROOT, 'test/fixtures/harbor/docs-sample-default-push.json'), 'utf8');

/** A shell script run as a user runs it in a terminal; its exit status and what it wrote to stderr. */
function shell(script: string, options: { cwd: string; env: Record<string, string> }) {
  const child = spawn('bash', ['-euo', 'pipefail', '-c', script], {
    ...options,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const killer = setTimeout(() => child.kill('SIGKILL'), 60_000);
  return new Promise<{ status: number | null; stderr: string }>((resolve) =>
    child.on('close', (status) => {
      clearTimeout(killer);
      resolve({ status, stderr });
    }),
  );
}

function fail(message: string): never {
  throw new Error(message);
}

/**
 * A page's shell block as a user runs it with the AWS CLI on PATH (v1 or v2): region and credentials
 * under the names both versions read, no pager, and the CLI pointed at the Secrets Manager stand-in
 * by `--endpoint-url` (a CLI older than the `AWS_ENDPOINT_URL_<SERVICE>` variables, such as Debian
 * bookworm's 2.9, ignores them and would call AWS).
 */
async function asUser(script: string) {
  const home = mkdtempSync(join(work, 'home-'));
  const aws = spawnSync('bash', ['-c', 'command -v aws'], { encoding: 'utf8' }).stdout.trim();
  if (!aws) throw new Error('the AWS CLI is not installed: run scripts/setup.sh --test');
  mkdirSync(join(home, 'bin'));
  writeFileSync(
    join(home, 'bin', 'aws'),
    `#!/bin/sh\nexec '${aws}' --endpoint-url "$AWS_ENDPOINT_URL_SECRETS_MANAGER" "$@"\n`,
    { mode: 0o755 },
  );
  // Not spawnSync: the stand-in answers from this process, whose event loop must keep running.
  return shell(script, {
    cwd: home,
    env: {
      PATH: `${join(home, 'bin')}:${process.env.PATH ?? '/usr/bin:/bin'}`,
      HOME: home,
      AWS_ACCESS_KEY_ID: 'AKIAREHEARSALUSER',
      AWS_SECRET_ACCESS_KEY: 'rehearsal-user-key',
      AWS_REGION: REGION,
      AWS_DEFAULT_REGION: REGION,
      AWS_PAGER: '',
      AWS_ENDPOINT_URL_SECRETS_MANAGER: secrets.endpoint,
    },
  });
}

// --- the rehearsal ------------------------------------------------------------------------------

describe('docs/aws.md, rehearsed on the synthesized stack', () => {
  test('deploys every function of the template from its bundle in cdk.out, with its handler and environment', async () => {
    expect(functions.length).toBeGreaterThanOrEqual(3);
    for (const fn of functions) {
      // Where Lambda's Node runtime looks for the handler's file (CDK's own providers ship CommonJS).
      const base = join(fn.codeDir, fn.handler.slice(0, fn.handler.lastIndexOf('.')));
      expect({ id: fn.id, file: ['.js', '.mjs', '.cjs'].some((ext) => existsSync(base + ext)) }).toEqual({
        id: fn.id,
        file: true,
      });
      for (const value of Object.values(fn.environment)) expect(value).not.toContain('[object Object]');
    }
    // Tagwarden's own functions are ES modules, loaded as such.
    for (const fn of [consumer().fn, webhook(), interactions(), sweep()]) {
      expect({ id: fn.id, handler: fn.handler }).toEqual({ id: fn.id, handler: 'index.handler' });
      expect(existsSync(join(fn.codeDir, 'index.mjs'))).toBe(true);
    }
    expect(consumer().fn.environment.SECRET_ARN).toMatch(
      /^arn:aws:secretsmanager:.*:secret:Tagwarden\/secrets-/,
    );
    // The secret exactly as CloudFormation creates it from the template: JSON the functions can read.
    const secret = stack.one('AWS::SecretsManager::Secret');
    expect(secrets.valueOf(stack.secretName(secret.id))).toBe(secret.properties.SecretString);
  });

  test('the baseline after deploy: CloudFormation invokes every custom resource the functions serve, each answers SUCCESS with its result, and every tag that existed before is first seen, from every repository, with no effect', async () => {
    const resources = stack.customResources(functions, cfn.responseUrl);
    expect(resources.map((r) => ({ type: r.type, fn: r.fn.id }))).toEqual(
      expect.arrayContaining([{ type: 'Custom::TagwardenBaseline', fn: sweep().id }]),
    );
    const before = ecr.service.calls.length;
    for (const { id, fn, event } of resources) {
      const { logs } = await run(fn, event);
      // The answer CloudFormation reads: one PUT to the pre-signed URL, echoing the request.
      const answers = cfn.responses.filter((r) => r.requestId === event.RequestId);
      expect(answers.map((a) => a.body)).toEqual([
        expect.objectContaining({
          Status: 'SUCCESS',
          StackId: event.StackId,
          RequestId: event.RequestId,
          LogicalResourceId: id,
          PhysicalResourceId: expect.any(String),
          Data: { Result: expect.stringMatching(/^recorded 2 tag\(s\) history had not seen, of 2 /) },
        }),
      ]);
      // The secret is still as CloudFormation left it: the function works, and says where alerts go.
      expect(logs).toContain('the Tagwarden secret has no slackWebhookUrl: alerts go to this log');
      expect(logs).not.toMatch(/ALERT/);
      // What a baseline records is expected, not a difference events missed.
      expect(logs).not.toContain('sweep found a difference events missed');
    }
    // The stack's BaselineResult output is the baseline's answer.
    const output = stack.template.Outputs!.BaselineResult!.Value as Properties;
    const [baselineId, attribute] = output['Fn::GetAtt'] as [string, string];
    expect(cfn.responses.at(-1)?.body.LogicalResourceId).toBe(baselineId);
    expect(cfn.responses.at(-1)?.body.Data[attribute]).toMatch(/^recorded 2 tag/);
    for (const [repository, tag] of [
      ['payments/api', 'v0'],
      ['web/site', '1.0'],
    ] as const) {
      const ref = { registryHost: ecr.host, repository, tag };
      const history = await store().history(ref);
      expect(history.map((h) => ({ transition: h.transition, digest: h.digest }))).toEqual([
        { transition: 'first-seen', digest: ecr.digestOf(repository, tag) },
      ]);
      expect(await store().effectsOf(history[0]!.eventId)).toEqual([]);
    }
    const calls = ecr.service.calls.slice(before);
    // No revert, no lock: the baseline only reads the registry.
    expect(calls.filter((c) => !/^(Describe|List)/.test(c.operation))).toEqual([]);
    expect(slack.messages).toEqual([]);
    // No repositories configured: every repository of the registry, through every page.
    const listings = calls.filter((c) => c.operation === 'DescribeRepositories' && !c.input.repositoryNames);
    expect(listings.length).toBeGreaterThanOrEqual(2);
    expect(listings.some((c) => c.input.nextToken)).toBe(true);
    // Signed with the credentials Lambda puts in the environment, never another chain's.
    for (const call of calls) expect(call.accessKeyId).toBe(account.accessKeyId);
  });

  test("the baseline by hand, with the page's payload: every tag checked, nothing new to record", async () => {
    expect(steps.sweepPayload).toEqual({ task: 'baseline' });
    const outcome = await run(sweep(), steps.sweepPayload);
    expect(outcome.result).toEqual({ checked: 2, differences: 0 });
    expect((await stateOf('payments/api', 'v0'))?.digest).toBe(ecr.digestOf('payments/api', 'v0'));
    expect((await stateOf('web/site', '1.0'))?.digest).toBe(ecr.digestOf('web/site', '1.0'));
  });

  test('first events with the secret unfilled: recorded, and the overwrite alerted to the log', async () => {
    const { event } = ecr.push('web/site', '1.0', manifest('site 1.0, pushed again'));
    expect(deliver(event)).toBe(1);
    const logs = await consume();
    expect(logs).toContain('the Tagwarden secret has no slackWebhookUrl: alerts go to this log');
    expect(logs).toMatch(/ALERT[^\n]*web\/site:1\.0/);
    expect((await stateOf('web/site', '1.0'))?.digest).toBe(ecr.digestOf('web/site', '1.0'));
    // Until the secret names a token, the public webhook refuses every source.
    const refused = await run(
      webhook(),
      urlEvent('harbor', HARBOR_PUSH, { authorization: `Bearer ${HARBOR_TOKEN}` }),
    );
    expect((refused.result as { statusCode: number }).statusCode).toBe(401);
  });

  test("fills the secret with the page's exact command (the AWS CLI, against the stand-in)", async () => {
    expect(steps.fill.secretId).toBe(stack.template.Outputs!.SecretName!.Value);
    const script = steps.fill.script
      .replace('https://hooks.slack.com/services/…', slack.url)
      .replace('<at least 16 characters>', HARBOR_TOKEN);
    const result = await asUser(script);
    expect({ status: result.status, stderr: result.status === 0 ? '' : result.stderr }).toEqual({
      status: 0,
      stderr: '',
    });
    expect(JSON.parse(secrets.valueOf(steps.fill.secretId)!)).toEqual({
      slackWebhookUrl: slack.url,
      sources: { harbor: { token: HARBOR_TOKEN } },
    });
  });

  test('push, then overwrite under a revert rule: the revert reaches ECR (BatchGetImage, PutImage) and Slack hears of it', async () => {
    const first = ecr.push('payments/api', 'v1', manifest('api v1'));
    expect(deliver(first.event)).toBe(1);
    await consume();
    const overwrite = ecr.push('payments/api', 'v1', manifest('api v1, overwritten'));
    expect(deliver(overwrite.event)).toBe(1);
    const before = ecr.service.calls.length;
    await consume();
    const calls = ecr.service.calls.slice(before);
    expect(calls.map((c) => c.operation)).toEqual(expect.arrayContaining(['BatchGetImage', 'PutImage']));
    expect(calls.find((c) => c.operation === 'PutImage' && c.input.imageTag === 'v1')?.input).toMatchObject({
      registryId: ACCOUNT,
      repositoryName: 'payments/api',
      imageTag: 'v1',
      imageDigest: first.digest,
    });
    expect(ecr.digestOf('payments/api', 'v1')).toBe(first.digest);
    expect(slack.messages.map((m) => m.text).join('\n')).toContain('payments/api:v1');
  });

  test('the sweep on its schedules: every repository, including one created after deploy; the outbox run sweeps none', async () => {
    ecr.push('team/new', 'v1', manifest('new v1'));
    const schedules = schedulesOf(sweep());
    expect(schedules.length).toBeGreaterThanOrEqual(2);
    for (const schedule of schedules) {
      const listed = ecr.service.callsOf('DescribeImages').length;
      const { result } = await run(sweep(), schedule.event);
      const swept = ecr.service
        .callsOf('DescribeImages')
        .slice(listed)
        .map((c) => c.input.repositoryName);
      if (schedule.event.task === 'outbox')
        expect({ schedule: schedule.id, result, swept }).toMatchObject({ swept: [] });
      else expect(new Set(swept)).toEqual(new Set(['payments/api', 'web/site', 'team/new']));
    }
    expect((await stateOf('team/new', 'v1'))?.digest).toBe(ecr.digestOf('team/new', 'v1'));
  });

  test('a forged webhook is refused with 401, an authenticated one is queued', async () => {
    const queueUrl = consumer().queueUrl;
    for (const headers of [{}, { authorization: 'Bearer forged-token-0123456789abcdef' }]) {
      const { result } = await run(webhook(), urlEvent('harbor', HARBOR_PUSH, headers));
      expect(result).toMatchObject({ statusCode: 401 });
    }
    expect(sqs.depth(queueUrl)).toBe(0);
    const { result } = await run(
      webhook(),
      urlEvent('harbor', HARBOR_PUSH, { authorization: `Bearer ${HARBOR_TOKEN}` }),
    );
    expect(result).toMatchObject({ statusCode: 202 });
    expect(sqs.depth(queueUrl)).toBe(1);
    await consume();
  });

  test("docs/clusters.md's step adds `clusters` to the secret and keeps what the fill step put there", async () => {
    const before = JSON.parse(secrets.valueOf(steps.fill.secretId)!);
    expect(Object.keys(before)).toEqual(expect.arrayContaining(['slackWebhookUrl', 'sources']));
    const script = secretWriteBlock(
      readFileSync(join(ROOT, 'docs', 'clusters.md'), 'utf8'),
      'docs/clusters.md',
    );
    expect(script).toContain(`--secret-id ${steps.fill.secretId}`);
    const result = await asUser(script);
    expect({ status: result.status, stderr: result.status === 0 ? '' : result.stderr }).toEqual({
      status: 0,
      stderr: '',
    });
    const after = JSON.parse(secrets.valueOf(steps.fill.secretId)!);
    expect(after).toEqual({ ...before, clusters: expect.any(Array) });
    expect(after.clusters.length).toBeGreaterThan(0);
  });

  test('`cdk destroy` keeps exactly what the page says it keeps', () => {
    /** How the page names each kind of resource the template retains. */
    const named: Record<string, string> = {
      'AWS::DynamoDB::Table': 'history table',
      'AWS::SecretsManager::Secret': 'secret',
      'AWS::Logs::LogGroup': 'log groups',
      'AWS::KMS::Key': 'KMS key',
    };
    const kept = [
      ...new Set(stack.resources.filter(([, r]) => r.DeletionPolicy === 'Retain').map(([, r]) => r.Type)),
    ];
    expect(kept).toEqual(expect.arrayContaining(['AWS::DynamoDB::Table', 'AWS::SecretsManager::Secret']));
    for (const type of kept)
      expect({ type, named: steps.remove.includes(`**${named[type]}**`) }).toEqual({ type, named: true });
    for (const [type, words] of Object.entries(named))
      if (!kept.includes(type))
        expect({ type, named: steps.remove.includes(`**${words}**`) }).toEqual({ type, named: false });
  });
});
