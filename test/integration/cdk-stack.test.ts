import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, Validations } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { Secret } from 'aws-cdk-lib/aws-secretsmanager';
import { AwsSolutionsChecks } from 'cdk-nag';
import { TagwardenStack } from '../../infra/tagwarden-stack';

const POLICY = 'rules:\n  - match: { repository: "payments/*" }\n    action: revert\n';
let template: Template;
let stack: TagwardenStack;

beforeAll(() => {
  stack = new TagwardenStack(new App(), 'Tagwarden', { policy: POLICY, repositories: ['payments/api'] });
  template = Template.fromStack(stack);
}, 120_000);

type Resources = Record<string, { Type: string; Properties: Record<string, unknown> }>;
const resourcesOf = (type: string) => Object.values(template.findResources(type) as Resources);

describe('the CDK stack', () => {
  test('routes successful ECR pushes and deletes of the configured repositories to the queue', () => {
    template.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: {
        source: ['aws.ecr'],
        'detail-type': ['ECR Image Action'],
        detail: {
          'action-type': ['PUSH', 'DELETE'],
          result: ['SUCCESS'],
          'repository-name': ['payments/api'],
        },
      },
      Targets: [Match.objectLike({ Arn: Match.anyValue() })],
    });
  });

  test('gives the queue a dead-letter queue after five receives and a visibility timeout of at least six consumer timeouts', () => {
    const queues = resourcesOf('AWS::SQS::Queue');
    const main = queues.find((q) => q.Properties.RedrivePolicy);
    expect(main?.Properties.RedrivePolicy).toMatchObject({ maxReceiveCount: 5 });
    const consumer = resourcesOf('AWS::Lambda::Function').find(
      (f) =>
        (f.Properties.Environment as { Variables: Record<string, string> }).Variables.TABLE_NAME &&
        !((f.Properties.Timeout as number) > 60),
    );
    expect(main!.Properties.VisibilityTimeout as number).toBeGreaterThanOrEqual(
      6 * (consumer!.Properties.Timeout as number),
    );
    for (const queue of queues) expect(queue.Properties.SqsManagedSseEnabled).toBe(true);
  });

  test('reports batch item failures from the queue consumer', () => {
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      BatchSize: 10,
    });
  });

  test('runs every function on arm64 with a current Node runtime', () => {
    const functions = resourcesOf('AWS::Lambda::Function');
    expect(functions).toHaveLength(3);
    for (const fn of functions) {
      expect(fn.Properties.Architectures).toEqual(['arm64']);
      expect(['nodejs22.x', 'nodejs24.x']).toContain(fn.Properties.Runtime);
    }
  });

  test('scopes the ECR actions to the configured repository and grants no ecr:*', () => {
    const statements = resourcesOf('AWS::IAM::Policy').flatMap(
      (p) =>
        (p.Properties.PolicyDocument as { Statement: { Action: string | string[]; Resource: unknown }[] })
          .Statement,
    );
    const ecr = statements.filter((s) => [s.Action].flat().some((a) => a.startsWith('ecr:')));
    expect(ecr.length).toBeGreaterThan(0);
    for (const statement of ecr) {
      expect([statement.Action].flat()).not.toContain('ecr:*');
      expect([statement.Action].flat()).toEqual(
        expect.arrayContaining(['ecr:BatchGetImage', 'ecr:PutImage']),
      );
      expect(JSON.stringify(statement.Resource)).toContain(':repository/payments/api');
      expect(JSON.stringify(statement.Resource)).not.toContain('repository/*');
    }
  });

  test('keeps history in a table with point-in-time recovery and the outbox index', () => {
    template.hasResourceProperties('AWS::DynamoDB::Table', {
      KeySchema: [
        { AttributeName: 'pk', KeyType: 'HASH' },
        { AttributeName: 'sk', KeyType: 'RANGE' },
      ],
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      GlobalSecondaryIndexes: [Match.objectLike({ IndexName: 'gsi1' })],
    });
  });

  test('deploys the policy as validated JSON, and refuses a bad one at synth with its line and column', () => {
    const fn = resourcesOf('AWS::Lambda::Function').find(
      (f) => (f.Properties.Environment as { Variables: Record<string, string> }).Variables.POLICY,
    );
    const policy = JSON.parse(
      (fn!.Properties.Environment as { Variables: Record<string, string> }).Variables.POLICY!,
    );
    expect(policy.rules).toEqual([
      { match: { repository: 'payments/*' }, action: 'revert', owners: [], bump: false },
    ]);
    expect(
      () => new TagwardenStack(new App(), 'Bad', { policy: 'rules:\n  - match: {}\n    action: revrt\n' }),
    ).toThrow(/policy:3:13: rules\[0\]\.action/);
  });

  test('outputs the webhook Function URL', () => {
    template.hasOutput('WebhookUrl', { Value: Match.anyValue() });
    template.hasResourceProperties('AWS::Lambda::Url', { AuthType: 'NONE' });
  });

  test('alarms on dead letters and on failed reverts', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'ApproximateNumberOfMessagesVisible',
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'TagRevertFailed',
      Namespace: 'Tagwarden',
    });
  });

  test('leaves no cdk-nag AwsSolutions finding unacknowledged, with or without configured repositories', () => {
    for (const repositories of [['payments/api'], []]) {
      const app = new App();
      new TagwardenStack(app, 'Checked', { repositories });
      Validations.of(app).addPlugins(new AwsSolutionsChecks());
      expect(() => app.synth()).not.toThrow();
    }
  }, 120_000);

  test('fails synthesis on an unacknowledged finding, so the check above can fail', () => {
    const app = new App();
    const candidate = new TagwardenStack(app, 'Control', { repositories: ['payments/api'] });
    new Secret(candidate, 'WithoutRotation');
    Validations.of(app).addPlugins(new AwsSolutionsChecks());
    expect(() => app.synth()).toThrow(/AwsSolutions-SMG4/);
  }, 120_000);

  test('gives every acknowledgement a reason', () => {
    const acknowledged = stack.node
      .findAll()
      .flatMap((node) =>
        node.node.metadata.filter((m) => m.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY),
      )
      .flatMap((m) =>
        Object.entries(m.data as Record<string, string>).map(([id, reason]) => ({ id, reason })),
      );
    expect(acknowledged.length).toBeGreaterThan(0);
    for (const { id, reason } of acknowledged)
      expect(`${id}: ${reason}`.length).toBeGreaterThan(id.length + 30);
  });

  test('synthesizes offline with `npx cdk synth`, no AWS credentials', () => {
    const out = mkdtempSync(join(tmpdir(), 'tagwarden-cdk-'));
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('AWS_')));
    const result = spawnSync('npx', ['cdk', 'synth', '--quiet', '-o', out], {
      cwd: join(__dirname, '..', '..'),
      env: { ...env, CDK_DISABLE_CLI_TELEMETRY: 'true' },
      encoding: 'utf8',
      timeout: 120_000,
    });
    try {
      expect(result.stderr).not.toContain('ERROR');
      expect(result.status).toBe(0);
      expect(existsSync(join(out, 'Tagwarden.template.json'))).toBe(true);
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  }, 150_000);
});
