import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, Stack, Validations } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import { Table } from 'aws-cdk-lib/aws-dynamodb';
import { Secret } from 'aws-cdk-lib/aws-secretsmanager';
import { Queue } from 'aws-cdk-lib/aws-sqs';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { IConstruct } from 'constructs';
import {
  BUNDLE_SIZE_CEILING_KB,
  BUNDLE_SIZE_TARGET_KB,
  SOURCE_MAPS_CONTEXT,
} from '../../infra/lambda-bundling';
import { propsFromContext, TagwardenStack } from '../../infra/tagwarden-stack';

const ROOT = join(__dirname, '..', '..');
/** Context that skips esbuild for stacks only checked for their shape (the main one is bundled). */
const NO_BUNDLING = { 'aws:cdk:bundling-stacks': [] };
const POLICY =
  'rules:\n  - match: { repository: "payments/*" }\n    action: revert\nattempts: { windowMs: 123456 }\n';

type Resource = { Type: string; Properties: Record<string, unknown>; DeletionPolicy?: string };
type Statement = { Effect: string; Action: string | string[]; Resource: unknown };

let work: string;
let stack: TagwardenStack;
let template: Template;

/** The stack as `cdk synth -c …` builds it: props from context, cdk-nag registered on the app. */
function build(context: Record<string, unknown>, bundle = false) {
  const app = new App({ context: { ...context, ...(bundle ? {} : NO_BUNDLING) } });
  const built = new TagwardenStack(app, 'Tagwarden', propsFromContext(app.node));
  Validations.of(app).addPlugins(new AwsSolutionsChecks());
  return { app, stack: built };
}

const resources = (t: Template, type: string) =>
  Object.entries(t.findResources(type) as Record<string, Resource>).map(([id, r]) => ({ id, ...r }));
const only = <T>(items: T[]): T => {
  expect(items).toHaveLength(1);
  return items[0]!;
};
const logicalId = (ref: unknown) => {
  const r = ref as { Ref?: string; 'Fn::GetAtt'?: [string, string] };
  return r.Ref ?? r['Fn::GetAtt']?.[0];
};
const actions = (s: Statement) => [s.Action].flat();
/** The directory of the asset CDK staged for the function with this logical id prefix (the main stack's). */
function bundleDir(id: string): string {
  const fn = only(resources(template, 'AWS::Lambda::Function').filter((f) => f.id.startsWith(id)));
  const key = (fn.Properties.Code as { S3Key: string }).S3Key.replace(/\.zip$/, '');
  return join((stack.node.root as App).outdir, `asset.${key}`);
}
/** Every statement of the inline policies attached to the role of the function with this logical id prefix. */
function statementsOf(t: Template, functionId: string): Statement[] {
  const fn = only(resources(t, 'AWS::Lambda::Function').filter((f) => f.id.startsWith(functionId)));
  const role = logicalId(fn.Properties.Role);
  return resources(t, 'AWS::IAM::Policy')
    .filter((p) => (p.Properties.Roles as unknown[]).some((r) => logicalId(r) === role))
    .flatMap((p) => (p.Properties.PolicyDocument as { Statement: Statement[] }).Statement);
}

/**
 * cdk-nag findings no acknowledgement covers, errors and warnings alike. CDK's synthesis only fails on
 * errors (warnings are printed), so this applies its rule to every finding: an acknowledgement
 * `AwsSolutions::<rule>` on the violating construct or one of its parents.
 */
function unacknowledged(app: App): string[] {
  const byPath = new Map<string, IConstruct>(app.node.findAll().map((c) => [c.node.path, c]));
  const acknowledged = (path: string, id: string) => {
    for (let c: IConstruct | undefined = byPath.get(path); c; c = c.node.scope)
      for (const entry of c.node.metadata)
        if (entry.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY && id in (entry.data as object))
          return true;
    return false;
  };
  return new AwsSolutionsChecks()
    .validateScope(app)
    .violations.flatMap((v) =>
      v.violatingResources
        .filter((r) => !acknowledged(r.constructPath ?? '', `AwsSolutions::${v.ruleName}`))
        .map((r) => `${v.severity} ${v.ruleName} at ${r.constructPath}`),
    );
}

/** Every acknowledgement in the tree, with its reason. */
const acknowledgements = (app: App) =>
  app.node
    .findAll()
    .flatMap((c) => c.node.metadata.filter((m) => m.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY))
    .flatMap((m) => Object.entries(m.data as Record<string, string>).map(([id, reason]) => ({ id, reason })));

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'tagwarden-cdk-'));
  writeFileSync(join(work, 'policy.yaml'), POLICY);
  ({ stack } = build({ repositories: 'payments/api', policyFile: join(work, 'policy.yaml') }, true));
  template = Template.fromStack(stack);
}, 120_000);

afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('the CDK stack', () => {
  test('routes only successful ECR pushes and deletes of the configured repository to the queue', () => {
    const queue = only(resources(template, 'AWS::SQS::Queue').filter((q) => q.Properties.RedrivePolicy));
    template.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: Match.objectEquals({
        source: ['aws.ecr'],
        'detail-type': ['ECR Image Action'],
        detail: {
          'action-type': ['PUSH', 'DELETE'],
          result: ['SUCCESS'],
          'repository-name': ['payments/api'],
        },
      }),
      State: 'ENABLED',
      Targets: [Match.objectLike({ Arn: { 'Fn::GetAtt': [queue.id, 'Arn'] } })],
    });
  });

  test('retries a message five times, then keeps it in the dead-letter queue for 14 days', () => {
    const queue = only(resources(template, 'AWS::SQS::Queue').filter((q) => q.Properties.RedrivePolicy));
    const redrive = queue.Properties.RedrivePolicy as {
      maxReceiveCount: number;
      deadLetterTargetArn: unknown;
    };
    expect(redrive.maxReceiveCount).toBe(5);
    const dlq = template.toJSON().Resources[logicalId(redrive.deadLetterTargetArn)!] as Resource;
    expect(dlq.Type).toBe('AWS::SQS::Queue');
    expect(dlq.Properties.MessageRetentionPeriod).toBe(14 * 24 * 3600);
  });

  test("gives the queue a visibility timeout of at least six times its consumer's timeout", () => {
    const mapping = only(resources(template, 'AWS::Lambda::EventSourceMapping'));
    const consumer = template.toJSON().Resources[logicalId(mapping.Properties.FunctionName)!] as Resource;
    const queue = template.toJSON().Resources[logicalId(mapping.Properties.EventSourceArn)!] as Resource;
    expect(consumer.Type).toBe('AWS::Lambda::Function');
    expect(queue.Type).toBe('AWS::SQS::Queue');
    expect(queue.Properties.VisibilityTimeout as number).toBeGreaterThanOrEqual(
      6 * (consumer.Properties.Timeout as number),
    );
  });

  test('encrypts both queues and refuses requests to them without TLS', () => {
    const queues = resources(template, 'AWS::SQS::Queue');
    expect(queues).toHaveLength(2);
    const policies = resources(template, 'AWS::SQS::QueuePolicy');
    for (const queue of queues) {
      expect(queue.Properties.SqsManagedSseEnabled).toBe(true);
      const denies = policies
        .filter((p) => (p.Properties.Queues as unknown[]).some((q) => logicalId(q) === queue.id))
        .flatMap((p) => (p.Properties.PolicyDocument as { Statement: Record<string, unknown>[] }).Statement)
        .filter((s) => s.Effect === 'Deny');
      expect(denies).toContainEqual(
        expect.objectContaining({ Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
      );
    }
  });

  test('feeds the consumer batches of ten within a second and takes back only the failed records', () => {
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      BatchSize: 10,
      MaximumBatchingWindowInSeconds: 1,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
    });
  });

  test('runs every function on arm64 Node 24 with 256 MB, its own log group kept a month, no source maps unless asked', () => {
    const functions = resources(template, 'AWS::Lambda::Function');
    expect(functions).toHaveLength(4);
    for (const fn of functions) {
      expect(fn.Properties).toMatchObject({
        Runtime: 'nodejs24.x',
        Architectures: ['arm64'],
        MemorySize: 256,
        Handler: 'index.handler',
        Environment: {
          Variables: expect.objectContaining({ POWERTOOLS_SERVICE_NAME: 'tagwarden' }),
        },
      });
      const logGroup = logicalId((fn.Properties.LoggingConfig as { LogGroup: unknown }).LogGroup);
      expect(template.toJSON().Resources[logGroup!].Properties.RetentionInDays).toBe(30);
    }
    const timeouts = functions.map((f) => f.Properties.Timeout).sort();
    expect(timeouts).toEqual([10, 10, 30, 300]);
    // Source maps cost every cold start; they are opt-in (-c sourceMaps=true), then on every function.
    const nodeOptions = (t: Template) =>
      resources(t, 'AWS::Lambda::Function').map(
        (f) => (f.Properties.Environment as { Variables: Record<string, unknown> }).Variables.NODE_OPTIONS,
      );
    expect(nodeOptions(template)).toEqual([undefined, undefined, undefined, undefined]);
    expect(nodeOptions(Template.fromStack(build({ sourceMaps: 'true' }).stack))).toEqual(
      Array(4).fill('--enable-source-maps'),
    );
    expect(existsSync(join(bundleDir('EcrEvents'), 'index.mjs.map'))).toBe(false);
  });

  test('every bundle stays within its size ceiling (issue 12 targets where met)', () => {
    const sizes = resources(template, 'AWS::Lambda::Function')
      .filter((f) => typeof (f.Properties.Code as { S3Key?: unknown }).S3Key === 'string')
      .map((f) => f.id.replace(/[0-9A-F]{8}$/, ''))
      .map((id) => ({ id, kb: statSync(join(bundleDir(id), 'index.mjs')).size / 1024 }));
    expect(sizes.map(({ id }) => id).sort()).toEqual(Object.keys(BUNDLE_SIZE_CEILING_KB).sort());
    const over = sizes.filter(({ id, kb }) => kb > BUNDLE_SIZE_CEILING_KB[id]!);
    expect(over).toEqual([]);
    for (const { id } of sizes)
      expect(BUNDLE_SIZE_CEILING_KB[id]).toBeGreaterThanOrEqual(BUNDLE_SIZE_TARGET_KB[id]!);
  });

  test('builds the policy file into the code of the consumer and the sweep, not their environment', () => {
    const functionOf = (id: string) =>
      only(resources(template, 'AWS::Lambda::Function').filter((f) => f.id.startsWith(id)));
    const vars = (id: string) =>
      (functionOf(id).Properties.Environment as { Variables: Record<string, unknown> }).Variables;
    const bundleOf = (id: string) => readFileSync(join(bundleDir(id), 'index.mjs'), 'utf8');
    for (const id of ['EcrEvents', 'Sweep']) {
      expect(Object.keys(vars(id)).sort()).toEqual(
        ['POWERTOOLS_SERVICE_NAME', 'REPOSITORIES', 'SECRET_ARN', 'TABLE_NAME'].sort(),
      );
      expect(vars(id).REPOSITORIES).toBe('payments/api');
      // The policy's JSON is in the code, in place of the identifier bundled-policy.ts reads.
      const code = bundleOf(id);
      expect(code).toContain('payments/*');
      expect(code).toMatch(/windowMs\\*":123456/);
      expect(code).not.toContain('__TAGWARDEN_POLICY__');
    }
    // Slack's clicks act under the policy on the history table, and drift reports are recorded there
    // (issues 15 and 16): the Interactions function carries both; the registry webhook neither.
    expect(Object.keys(vars('Interactions')).sort()).toEqual(
      ['POWERTOOLS_SERVICE_NAME', 'QUEUE_URL', 'SECRET_ARN', 'TABLE_NAME'].sort(),
    );
    expect(bundleOf('Interactions')).toContain('payments/*');
    expect(bundleOf('Interactions')).not.toContain('__TAGWARDEN_POLICY__');
    expect(Object.keys(vars('Webhook')).sort()).toEqual(
      ['POWERTOOLS_SERVICE_NAME', 'QUEUE_URL', 'SECRET_ARN'].sort(),
    );
    expect(bundleOf('Webhook')).not.toContain('payments/*');
    expect(bundleOf('Webhook')).not.toContain('DynamoDB');
  });

  test('a policy of 60 rules synthesizes; an environment past 4 KB fails synthesis with one line', () => {
    const rules = Array.from(
      { length: 60 },
      (_, i) =>
        `  - match: { repository: "team-${i}/*", tag: "v*" }\n    action: revert\n    owners: ["#team-${i}"]\n`,
    ).join('');
    writeFileSync(join(work, 'large.yaml'), `rules:\n${rules}`);
    expect(() => build({ policyFile: join(work, 'large.yaml') })).not.toThrow();
    const many = Array.from({ length: 300 }, (_, i) => `team-${i}/service-${i}`).join(',');
    expect(() => build({ repositories: many })).toThrow(
      /^Lambda EcrEvents: its environment variables take about \d+ bytes, more than Lambda's 4096 \(the largest is REPOSITORIES, \d+ bytes\)$/,
    );
  });

  test('fails synthesis with the file and line when the policy file is not valid', () => {
    writeFileSync(join(work, 'bad.yaml'), 'rules:\n  - match: { repository: "a" }\n    acton: revert\n');
    expect(() => build({ policyFile: join(work, 'bad.yaml') })).toThrow(/bad\.yaml.*3/);
    expect(() => build({ policyFile: join(work, 'missing.yaml') })).toThrow(/cannot be read/);
  });

  test('gives each function exactly the actions its code calls, on the configured repository only', () => {
    const all = resources(template, 'AWS::IAM::Policy').flatMap(
      (p) => (p.Properties.PolicyDocument as { Statement: Statement[] }).Statement,
    );
    const ecr = all.filter((s) => actions(s).some((a) => a.startsWith('ecr:')));
    expect(ecr).toHaveLength(2); // the consumer's and the sweep's
    for (const statement of ecr)
      expect(JSON.stringify(statement.Resource)).toMatch(/:repository\/payments\/api"\]\]\}$/);
    for (const statement of all) {
      expect(actions(statement)).not.toContain('ecr:*');
      expect(actions(statement)).not.toContain('*');
    }
    for (const role of resources(template, 'AWS::IAM::Role'))
      expect(role.Properties.ManagedPolicyArns).toBeUndefined();
    const held = (id: string) =>
      [...new Set(statementsOf(template, id).flatMap(actions))].filter((a) => !a.startsWith('logs:')).sort();
    // Read from the code: the ECR adapter (BatchGetImage, PutImage, DescribeRepositories,
    // PutImageTagMutability), the owners lookup (ListTagsForResource), the DynamoDB store (GetItem,
    // Query, PutItem, UpdateItem; TransactWriteItems is authorized as its Puts and Updates), the secret.
    const guarding = [
      'dynamodb:GetItem',
      'dynamodb:PutItem',
      'dynamodb:Query',
      'dynamodb:UpdateItem',
      'ecr:BatchGetImage',
      'ecr:DescribeRepositories',
      'ecr:ListTagsForResource',
      'ecr:PutImage',
      'ecr:PutImageTagMutability',
      'secretsmanager:GetSecretValue',
    ];
    // The consumer's queue actions are the event source mapping's (Lambda polls with the role).
    const polling = [
      'sqs:ChangeMessageVisibility',
      'sqs:DeleteMessage',
      'sqs:GetQueueAttributes',
      'sqs:GetQueueUrl',
      'sqs:ReceiveMessage',
    ];
    expect(held('EcrEvents')).toEqual([...guarding, ...polling].sort());
    expect(held('Sweep')).toEqual([...guarding, 'ecr:DescribeImages'].sort());
    expect(held('Webhook')).toEqual(['secretsmanager:GetSecretValue', 'sqs:SendMessage']);
    expect(held('Interactions')).toEqual(
      [
        'dynamodb:DeleteItem',
        'dynamodb:GetItem',
        'dynamodb:PutItem',
        'dynamodb:Query',
        'dynamodb:UpdateItem',
        'secretsmanager:GetSecretValue',
        'sqs:SendMessage',
      ].sort(),
    );
    // The table's actions on the table and its one index, not every index.
    const table = statementsOf(template, 'Sweep').find((s) => actions(s).includes('dynamodb:Query'))!;
    expect(JSON.stringify(table.Resource)).toContain('/index/gsi1');
    expect(JSON.stringify(table.Resource)).not.toContain('/index/*');
  });

  test('lets only the webhook send to the queue and only the consumer receive from it', () => {
    const has = (id: string, action: string) =>
      statementsOf(template, id).some((s) => actions(s).includes(action));
    expect(has('Webhook', 'sqs:SendMessage')).toBe(true);
    expect(has('Webhook', 'sqs:ReceiveMessage')).toBe(false);
    // The table for Slack's clicks and drift reports, never the registry; the registry webhook no table.
    expect(has('Webhook', 'dynamodb:PutItem')).toBe(false);
    expect(has('Webhook', 'dynamodb:GetItem')).toBe(false);
    expect(has('Interactions', 'sqs:SendMessage')).toBe(true);
    expect(has('Interactions', 'sqs:ReceiveMessage')).toBe(false);
    expect(has('Interactions', 'dynamodb:PutItem')).toBe(true);
    expect(has('Interactions', 'dynamodb:DeleteItem')).toBe(true);
    for (const id of ['Webhook', 'Interactions']) expect(has(id, 'ecr:PutImage')).toBe(false);
    expect(has('EcrEvents', 'sqs:ReceiveMessage')).toBe(true);
    expect(has('EcrEvents', 'sqs:SendMessage')).toBe(false);
    for (const id of ['EcrEvents', 'Sweep']) expect(has(id, 'dynamodb:PutItem')).toBe(true);
  });

  test('creates the secret as JSON named after the stack, keeps it on delete, and outputs its name', () => {
    const secret = only(resources(template, 'AWS::SecretsManager::Secret')) as Resource & { id: string };
    expect(secret.Properties.Name).toBe('Tagwarden/secrets');
    // JSON the functions can read, not a generated password (which every function would refuse).
    expect(JSON.parse(secret.Properties.SecretString as string)).toEqual({});
    expect(secret.Properties.GenerateSecretString).toBeUndefined();
    expect(secret.DeletionPolicy).toBe('Retain');
    expect(template.toJSON().Outputs.SecretName.Value).toBe('Tagwarden/secrets');
    const sweep = only(resources(template, 'AWS::Lambda::Function').filter((f) => f.id.startsWith('Sweep')));
    expect(template.toJSON().Outputs.SweepFunction.Value).toEqual({ Ref: sweep.id });
    expect(template.toJSON().Outputs.SweepFunction.Description).toContain(
      'aws lambda invoke --function-name',
    );
    const app = new App({ context: NO_BUNDLING });
    const second = Template.fromStack(new TagwardenStack(app, 'TagwardenStaging'));
    expect(only(resources(second, 'AWS::SecretsManager::Secret')).Properties.Name).toBe(
      'TagwardenStaging/secrets',
    );
  });

  test('lets every function read the secret, and write only its own logs', () => {
    const secret = only(resources(template, 'AWS::SecretsManager::Secret'));
    for (const id of ['EcrEvents', 'Webhook', 'Interactions', 'Sweep']) {
      const statements = statementsOf(template, id);
      expect(statements).toContainEqual(
        expect.objectContaining({
          Action: 'secretsmanager:GetSecretValue',
          Resource: { Ref: secret.id },
        }),
      );
      const logs = statements.filter((s) => actions(s).some((a) => a.startsWith('logs:')));
      expect(logs).toHaveLength(1);
      expect(logs[0]!.Resource).toEqual({ 'Fn::GetAtt': [expect.stringMatching(/^\w+Logs/), 'Arn'] });
    }
  });

  test('keeps history in an on-demand, encrypted table with point-in-time recovery and gsi1, retained on delete', () => {
    template.hasResource('AWS::DynamoDB::Table', {
      DeletionPolicy: 'Retain',
      UpdateReplacePolicy: 'Retain',
      Properties: {
        KeySchema: [
          { AttributeName: 'pk', KeyType: 'HASH' },
          { AttributeName: 'sk', KeyType: 'RANGE' },
        ],
        BillingMode: 'PAY_PER_REQUEST',
        SSESpecification: { SSEEnabled: true },
        PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
        GlobalSecondaryIndexes: [
          {
            IndexName: 'gsi1',
            KeySchema: [
              { AttributeName: 'gsi1pk', KeyType: 'HASH' },
              { AttributeName: 'gsi1sk', KeyType: 'RANGE' },
            ],
            Projection: { ProjectionType: 'ALL' },
          },
        ],
      },
    });
  });

  test('runs the reconciliation sweep every six hours', () => {
    const sweep = only(resources(template, 'AWS::Lambda::Function').filter((f) => f.id.startsWith('Sweep')));
    template.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'rate(6 hours)',
      Targets: [Match.objectLike({ Arn: { 'Fn::GetAtt': [sweep.id, 'Arn'] } })],
    });
  });

  test('runs the baseline after each deploy through the sweep itself, again whenever its code or repositories change', () => {
    const sweep = only(resources(template, 'AWS::Lambda::Function').filter((f) => f.id.startsWith('Sweep')));
    const baseline = only(resources(template, 'Custom::TagwardenBaseline'));
    expect(baseline.Properties).toEqual({
      ServiceToken: { 'Fn::GetAtt': [sweep.id, 'Arn'] },
      ServiceTimeout: '360',
      Task: 'baseline',
      SweepCode: (sweep.Properties.Code as { S3Key: unknown }).S3Key,
      Repositories: 'payments/api',
    });
    // No function of its own: the four functions are all there is.
    expect(resources(template, 'AWS::Lambda::Function')).toHaveLength(4);
    template.hasOutput('BaselineResult', { Value: { 'Fn::GetAtt': [baseline.id, 'Result'] } });
    // Another policy is other code: its key changes, so CloudFormation runs the baseline again.
    writeFileSync(
      join(work, 'other.yaml'),
      'rules:\n  - match: { repository: "web/*" }\n    action: alert\n',
    );
    const other = Template.fromStack(
      build({ repositories: 'payments/api', policyFile: join(work, 'other.yaml') }, true).stack,
    );
    const key = (t: Template) => only(resources(t, 'Custom::TagwardenBaseline')).Properties.SweepCode;
    expect(key(other)).not.toEqual(key(template));
  }, 120_000);

  test('takes webhooks through a Function URL whose authentication is in the handler', () => {
    const urls = resources(template, 'AWS::Lambda::Url');
    expect(urls.map((u) => u.Properties.AuthType)).toEqual(['NONE', 'NONE']);
    const target = (id: string) => ({ 'Fn::GetAtt': [id, 'Arn'] });
    const fn = (prefix: string) =>
      only(resources(template, 'AWS::Lambda::Function').filter((f) => f.id.startsWith(prefix))).id;
    expect(urls.map((u) => u.Properties.TargetFunctionArn)).toEqual(
      expect.arrayContaining([target(fn('Webhook')), target(fn('Interactions'))]),
    );
    template.hasOutput('WebhookUrl', { Value: Match.anyValue() });
    expect(template.toJSON().Outputs.InteractionsUrl.Value).toEqual({
      'Fn::GetAtt': [only(urls.filter((u) => u.id.startsWith('Interactions'))).id, 'FunctionUrl'],
    });
  });

  test('alarms on any dead letter, any failed revert and any effect that failed for good', () => {
    const dlq = only(resources(template, 'AWS::SQS::Queue').filter((q) => !q.Properties.RedrivePolicy));
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AWS/SQS',
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [dlq.id, 'QueueName'] } }],
      ComparisonOperator: 'GreaterThanThreshold',
      Threshold: 0,
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'Tagwarden',
      MetricName: 'TagRevertFailed',
      ComparisonOperator: 'GreaterThanThreshold',
      Threshold: 0,
    });
  });

  test('sends every alarm to an SNS topic encrypted with a rotated key CloudWatch may use', () => {
    const topic = only(resources(template, 'AWS::SNS::Topic'));
    const alarms = resources(template, 'AWS::CloudWatch::Alarm');
    expect(alarms.map((a) => a.Properties.MetricName).sort()).toEqual([
      'ApproximateNumberOfMessagesVisible',
      'EffectFailed',
      'TagRevertFailed',
    ]);
    for (const alarm of alarms) expect(alarm.Properties.AlarmActions).toEqual([{ Ref: topic.id }]);
    const key = only(resources(template, 'AWS::KMS::Key'));
    expect(topic.Properties.KmsMasterKeyId).toEqual({ 'Fn::GetAtt': [key.id, 'Arn'] });
    expect(key.Properties.EnableKeyRotation).toBe(true);
    const keyStatements = (
      key.Properties.KeyPolicy as { Statement: Array<Statement & { Principal: unknown }> }
    ).Statement;
    expect(
      keyStatements.some(
        (st) =>
          JSON.stringify(st.Principal).includes('cloudwatch.amazonaws.com') &&
          actions(st).includes('kms:GenerateDataKey*') &&
          actions(st).includes('kms:Decrypt'),
      ),
    ).toBe(true);
    // No e-mail given: no subscription, and no reserved concurrency on the webhook either.
    expect(resources(template, 'AWS::SNS::Subscription')).toHaveLength(0);
    const webhook = only(
      resources(template, 'AWS::Lambda::Function').filter((f) => f.id.startsWith('Webhook')),
    );
    expect(webhook.Properties.ReservedConcurrentExecutions).toBeUndefined();
  });

  test('takes an alarm e-mail, an existing alarm topic and the webhook concurrency from context, and rejects bad values', () => {
    const withEmail = Template.fromStack(
      build({ alarmEmail: 'oncall@example.com', webhookReservedConcurrency: '20' }).stack,
    );
    withEmail.hasResourceProperties('AWS::SNS::Subscription', {
      Protocol: 'email',
      Endpoint: 'oncall@example.com',
    });
    const webhook = only(
      resources(withEmail, 'AWS::Lambda::Function').filter((f) => f.id.startsWith('Webhook')),
    );
    expect(webhook.Properties.ReservedConcurrentExecutions).toBe(20);
    const interactions = only(
      resources(withEmail, 'AWS::Lambda::Function').filter((f) => f.id.startsWith('Interactions')),
    );
    expect(interactions.Properties.ReservedConcurrentExecutions).toBe(20);

    const arn = 'arn:aws:sns:eu-west-1:123456789012:oncall';
    const existing = Template.fromStack(build({ alarmTopicArn: arn }).stack);
    expect(resources(existing, 'AWS::SNS::Topic')).toHaveLength(0);
    for (const alarm of resources(existing, 'AWS::CloudWatch::Alarm'))
      expect(alarm.Properties.AlarmActions).toEqual([arn]);

    expect(() => build({ webhookReservedConcurrency: 'ten' })).toThrow(
      'context webhookReservedConcurrency must be a whole number of 1 or more (0 would refuse every request), not "ten"',
    );
    // Reserved concurrency 0 is valid to Lambda and throttles every request: the public URLs would be dead.
    expect(() => build({ webhookReservedConcurrency: '0' })).toThrow(
      'context webhookReservedConcurrency must be a whole number of 1 or more',
    );
    // An e-mail given with an existing topic was dropped without a word: refused, naming both.
    expect(() => build({ alarmEmail: 'oncall@example.com', alarmTopicArn: arn })).toThrow(
      'context alarmEmail subscribes to the topic the stack creates, and alarmTopicArn replaces that topic',
    );
    expect(() => build({ alarmEmail: 'oncall' })).toThrow('context alarmEmail must be an e-mail address');
    expect(() => build({ alarmTopicArn: 'oncall' })).toThrow(
      'context alarmTopicArn must be an SNS topic ARN',
    );
  });

  test('shows queue depth, dead letters, errors, overwrites, reverts and detection latency on a dashboard', () => {
    const body = JSON.stringify(
      only(resources(template, 'AWS::CloudWatch::Dashboard')).Properties.DashboardBody,
    );
    for (const metric of [
      'ApproximateNumberOfMessagesVisible',
      'Errors',
      'TagOverwriteDetected',
      'TagReverted',
      'DetectionLatencyMs',
    ])
      expect(body).toContain(`\\"${metric}\\"`);
  });

  test('keeps the logical id of every resource of a deployed stack (a changed id replaces the resource)', () => {
    const ids = Object.keys(Template.fromStack(build({}).stack).toJSON().Resources).sort();
    expect(ids).toEqual([
      'AlarmTopicD01E77F9',
      'AlarmTopicKey57B0D3A7',
      'AlarmTopicPolicy309DB5F8',
      'Baseline',
      'Dashboard9E4231ED',
      'DeadLettersBBF8BAAB',
      'DeadLettersNotEmpty281C185F',
      'DeadLettersPolicy05322138',
      'EcrEventsC10EFA56',
      'EcrEventsLogsB7002B45',
      'EcrEventsRole224018BF',
      'EcrEventsRoleDefaultPolicy2B4D49C0',
      'EcrEventsSqsEventSourceTagwardenEvents061AC4BF798A1E81',
      'EcrImageActions974E2A22',
      'EcrOverwriteAttempts509A3B5C',
      'EffectFailed8E60F41D',
      'EventsD32975C2',
      'EventsPolicyE4A9312A',
      'HistoryC127576E',
      'InteractionsA486FAA2',
      'InteractionsFunctionUrl30B672E4',
      'InteractionsLogs1341ACEF',
      'InteractionsRole967C8166',
      'InteractionsRoleDefaultPolicyA07EA1F3',
      'InteractionsinvokefunctionEE0CAE35',
      'Interactionsinvokefunctionurl7D1A0C8E',
      'OutboxSchedule5DE74EA7',
      'OutboxScheduleAllowEventRuleTagwardenSweep47F1CB533010F2BB',
      'RevertFailed75B2477A',
      'SecretsA3BCC2E9',
      'Sweep576358E8',
      'SweepLogsD6C54147',
      'SweepRole19075C26',
      'SweepRoleDefaultPolicy221E6CF3',
      'SweepSchedule80B1140B',
      'SweepScheduleAllowEventRuleTagwardenSweep47F1CB53FFD76D24',
      'WebhookB701416B',
      'WebhookFunctionUrl0EF34D45',
      'WebhookLogs0B55926B',
      'WebhookRole875D6A6B',
      'WebhookRoleDefaultPolicy9C7E7CF0',
      'Webhookinvokefunction30E939B0',
      'Webhookinvokefunctionurl6695E202',
    ]);
  });

  test('leaves no cdk-nag AwsSolutions error or warning unacknowledged, with or without configured repositories', () => {
    for (const repositories of ['payments/api,web/site', '']) {
      const { app, stack: checked } = build({ repositories });
      expect(() => app.synth()).not.toThrow();
      expect(unacknowledged(app)).toEqual([]);
      // cdk-nag 3 reports through CDK's validation plugins, not annotations; none may appear either way.
      const annotations = Annotations.fromStack(checked);
      expect(annotations.findError('*', Match.stringLikeRegexp('AwsSolutions-.*'))).toEqual([]);
      expect(annotations.findWarning('*', Match.stringLikeRegexp('AwsSolutions-.*'))).toEqual([]);
    }
  }, 120_000);

  test('works with an existing table and queue, and leaves nothing unacknowledged then either', () => {
    const app = new App({ context: NO_BUNDLING });
    const shared = new Stack(app, 'Shared', { env: { account: '123456789012', region: 'eu-west-1' } });
    Validations.of(shared).acknowledge({
      id: 'CloudFormation-Validate::F0001',
      reason: 'This stack only names resources that exist already; it deploys nothing.',
    });
    const existing = new TagwardenStack(app, 'Existing', {
      env: { account: '123456789012', region: 'eu-west-1' },
      repositories: ['payments/api'],
      existingTable: Table.fromTableArn(
        shared,
        'Table',
        'arn:aws:dynamodb:eu-west-1:123456789012:table/tagwarden-history',
      ) as never,
      existingQueue: Queue.fromQueueArn(shared, 'Queue', 'arn:aws:sqs:eu-west-1:123456789012:tagwarden'),
    });
    const t = Template.fromStack(existing);
    t.resourceCountIs('AWS::DynamoDB::Table', 0);
    t.resourceCountIs('AWS::SQS::Queue', 0);
    t.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      EventSourceArn: 'arn:aws:sqs:eu-west-1:123456789012:tagwarden',
      FunctionResponseTypes: ['ReportBatchItemFailures'],
    });
    expect(unacknowledged(app)).toEqual([]);
  }, 120_000);

  test('finds an unacknowledged finding when there is one, so the checks above can fail', () => {
    const { app, stack: control } = build({ repositories: 'payments/api' });
    new Secret(control, 'WithoutRotation');
    expect(unacknowledged(app)).toEqual(['error AwsSolutions-SMG4 at Tagwarden/WithoutRotation/Resource']);
    expect(() => app.synth()).toThrow(/AwsSolutions-SMG4/);
  }, 120_000);

  test('gives every cdk-nag acknowledgement a reason of at least ten characters', () => {
    const all = [
      ...acknowledgements(stack.node.root as App),
      ...acknowledgements(build({ repositories: '' }).app),
    ];
    expect(all.map((a) => a.id)).toEqual(
      expect.arrayContaining([
        'AwsSolutions::AwsSolutions-SMG4',
        expect.stringMatching(/^AwsSolutions::AwsSolutions-IAM5\[Resource::.*repository\/\*\]$/),
      ]),
    );
    for (const { id, reason } of all)
      expect({ id, length: reason.trim().length >= 10 }).toEqual({ id, length: true });
  });

  test('a bad -c value stops `cdk synth` with one line naming it, not a stack trace', () => {
    // The app as cdk.json runs it, with the context the CDK CLI hands over for `-c key=value`.
    const result = spawnSync('node', ['scripts/cdk-app.mjs'], {
      cwd: ROOT,
      env: {
        ...process.env,
        CDK_CONTEXT_JSON: JSON.stringify({ webhookReservedConcurrency: '0' }),
        CDK_OUTDIR: join(work, 'bad-context.out'),
      },
      encoding: 'utf8',
      timeout: 120_000,
    });
    expect({ status: result.status, stderr: result.stderr }).toEqual({
      status: 1,
      stderr:
        'error: context webhookReservedConcurrency must be a whole number of 1 or more (0 would refuse every request), not "0"\n',
    });
  });

  test('synthesizes offline with `npx cdk synth`, without AWS credentials, reasons written in the template', () => {
    const out = join(work, 'cdk.out');
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('AWS_')));
    const result = spawnSync('npx', ['cdk', 'synth', '--quiet', '-o', out], {
      cwd: ROOT,
      env: { ...env, CDK_DISABLE_CLI_TELEMETRY: 'true' },
      encoding: 'utf8',
      timeout: 300_000,
    });
    expect({ status: result.status, stderr: result.status === 0 ? '' : result.stderr }).toEqual({
      status: 0,
      stderr: '',
    });
    const file = join(out, 'Tagwarden.template.json');
    expect(existsSync(file)).toBe(true);
    const synthesized = JSON.parse(readFileSync(file, 'utf8')) as {
      Resources: Record<
        string,
        { Type: string; Metadata?: { cdk_nag?: { rules_to_suppress: { reason: string }[] } } }
      >;
    };
    expect(
      Object.values(synthesized.Resources).filter((r) => r.Type === 'AWS::Lambda::Function'),
    ).toHaveLength(4);
    const reasons = Object.values(synthesized.Resources).flatMap(
      (r) => r.Metadata?.cdk_nag?.rules_to_suppress ?? [],
    );
    expect(reasons.length).toBeGreaterThan(0);
    for (const { reason } of reasons) expect(reason.trim().length).toBeGreaterThanOrEqual(10);
  }, 330_000);
});

describe('the CDK stack: refused pushes at immutable tags (CloudTrail)', () => {
  const ATTEMPTS = {
    source: ['aws.ecr'],
    'detail-type': ['AWS API Call via CloudTrail'],
    detail: {
      eventSource: ['ecr.amazonaws.com'],
      eventName: ['PutImage'],
      errorCode: ['ImageTagAlreadyExistsException'],
    },
  };

  test('sends refused PutImage calls of the guarded repositories to the events queue', () => {
    const queue = only(resources(template, 'AWS::SQS::Queue').filter((q) => q.Properties.RedrivePolicy));
    template.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: {
        ...ATTEMPTS,
        detail: { ...ATTEMPTS.detail, requestParameters: { repositoryName: ['payments/api'] } },
      },
      Targets: [Match.objectLike({ Arn: { 'Fn::GetAtt': [queue.id, 'Arn'] } })],
    });
  });

  test('matches every repository when none is named, and creates no trail unless asked', () => {
    const t = Template.fromStack(build({}).stack);
    t.hasResourceProperties('AWS::Events::Rule', { EventPattern: ATTEMPTS });
    t.resourceCountIs('AWS::CloudTrail::Trail', 0);
  });

  test('with -c createTrail=true creates one single-region trail of write management events, nag-clean', () => {
    const { app, stack: withTrail } = build({ createTrail: 'true' });
    const t = Template.fromStack(withTrail);
    t.resourceCountIs('AWS::CloudTrail::Trail', 1);
    t.hasResourceProperties('AWS::CloudTrail::Trail', {
      IsLogging: true,
      IsMultiRegionTrail: false,
      IncludeGlobalServiceEvents: false,
      EnableLogFileValidation: true,
      EventSelectors: [Match.objectLike({ IncludeManagementEvents: true, ReadWriteType: 'WriteOnly' })],
    });
    t.hasResourceProperties('AWS::S3::Bucket', {
      PublicAccessBlockConfiguration: Match.objectLike({
        BlockPublicAcls: true,
        RestrictPublicBuckets: true,
      }),
    });
    expect(unacknowledged(app)).toEqual([]);
  });

  test('rejects a createTrail that is not true or false', () => {
    expect(() => build({ createTrail: 'yes' })).toThrow(
      'context createTrail must be true or false, not "yes"',
    );
    // sourceMaps was read as "anything but true is off": a typo shipped without maps, silently.
    expect(() => build({ sourceMaps: 'yes' })).toThrow('context sourceMaps must be true or false, not "yes"');
  });
});

describe('docs/aws.md and the stack agree', () => {
  const page = readFileSync(join(ROOT, 'docs', 'aws.md'), 'utf8');

  test("the page's context table names every -c key infra/ reads, and the page names no other", () => {
    const source = readFileSync(join(ROOT, 'infra', 'tagwarden-stack.ts'), 'utf8');
    const read = new Set([...source.matchAll(/context\('(\w+)'\)/g)].map((m) => m[1]!));
    read.add(SOURCE_MAPS_CONTEXT);
    const inTable = [...page.matchAll(/^\| `-c (\w+)=/gm)].map((m) => m[1]!);
    expect(inTable.sort()).toEqual([...read].sort());
    for (const [, key] of page.matchAll(/-c (\w+)=/g)) expect(read).toContain(key);
  });

  test('the outputs table names every output of the synthesized stack, and only those', () => {
    const section = page.slice(
      page.indexOf('## Outputs of the stack'),
      page.indexOf('## After the first deploy'),
    );
    const named = [...section.matchAll(/^\| ([^|]+) \|/gm)]
      .flatMap((m) => [...m[1]!.matchAll(/`(\w+)`/g)].map((n) => n[1]!))
      .sort();
    expect(named).toEqual(Object.keys(template.toJSON().Outputs as object).sort());
    // What the steps use in <…> is among them.
    for (const [, name] of page.matchAll(/<([A-Z]\w+)>/g)) expect(named).toContain(name);
  });
});

describe("docs/aws.md's least-privilege table", () => {
  const page = readFileSync(join(ROOT, 'docs', 'aws.md'), 'utf8');
  /** `prefix:Action`, and the bare `Action`s after it in the same prefix. */
  const actionsIn = (text: string): string[] => {
    let prefix = '';
    return [...text.matchAll(/`(?:(\w+):)?(\w+)`/g)].map(([, p, action]) => {
      if (p) prefix = p;
      return `${prefix}:${action}`;
    });
  };
  const row = (name: string) => {
    const found = new RegExp(`^\\| ${name} \\| (.+) \\|$`, 'm').exec(page);
    expect(found).not.toBeNull();
    return actionsIn(found![1]!);
  };
  const granted = (id: string, kind: 'logs' | 'code') =>
    [...new Set(statementsOf(template, id).flatMap(actions))]
      .filter((a) => a.startsWith('logs:') === (kind === 'logs'))
      .sort();

  test('lists the actions the template grants each function, no more and no fewer', () => {
    const consumer = row('ecr-events \\(consumer\\)');
    const listed: Record<string, string[]> = {
      Webhook: row('webhook'),
      Interactions: row('interactions'),
      EcrEvents: consumer,
      // "the consumer's table, ECR and secret actions", and its own.
      Sweep: [...consumer.filter((a) => !a.startsWith('sqs:')), ...row('sweep')],
    };
    for (const [id, fromPage] of Object.entries(listed)) {
      expect({ id, actions: [...new Set(fromPage)].sort() }).toEqual({ id, actions: granted(id, 'code') });
      expect(granted(id, 'logs')).toEqual(actionsIn('`logs:CreateLogStream` and `PutLogEvents`').sort());
    }
  });
});
