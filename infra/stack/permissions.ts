import { type Stack, Validations } from 'aws-cdk-lib';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { Secret } from 'aws-cdk-lib/aws-secretsmanager';
import type { TagwardenFunction } from '../tagwarden-function';

/**
 * The ECR actions the consumer's code calls: the registry adapter (shared/adapters/registry/ecr.ts)
 * reads manifests (BatchGetImage), puts one back (PutImage), locks (DescribeRepositories,
 * PutImageTagMutability); the alert's owners come from the repository's tags (ListTagsForResource).
 */
export const CONSUMER_ECR_ACTIONS = [
  'ecr:BatchGetImage',
  'ecr:PutImage',
  'ecr:PutImageTagMutability',
  'ecr:DescribeRepositories',
  'ecr:ListTagsForResource',
];

/** The sweep runs the same effects, and lists repositories and their tags (DescribeImages). */
export const SWEEP_ECR_ACTIONS = [...CONSUMER_ECR_ACTIONS, 'ecr:DescribeImages'];

/**
 * The DynamoDB actions the history store calls (shared/history/dynamodb): GetItem, Query (the table
 * and the index gsi1), PutItem, UpdateItem, and TransactWriteItems, which IAM authorizes as the Put
 * and Update inside it. No Scan, no batch, no DeleteItem, no ConditionCheck.
 */
/**
 * What the webhook needs beyond HISTORY_TABLE_ACTIONS to record drift reports
 * (shared/history/dynamodb/drift.ts): a cleared finding's item is deleted in the report's transaction.
 */
export const DRIFT_TABLE_ACTIONS = ['dynamodb:DeleteItem'];

/** Lets the webhook clear drift findings (on the table only, not its index). */
export function grantDriftLog(fn: TagwardenFunction, table: ITable): void {
  fn.addToRolePolicy(new PolicyStatement({ actions: DRIFT_TABLE_ACTIONS, resources: [table.tableArn] }));
}

export const HISTORY_TABLE_ACTIONS = [
  'dynamodb:GetItem',
  'dynamodb:Query',
  'dynamodb:PutItem',
  'dynamodb:UpdateItem',
];

/** The one Secrets Manager action every function calls (functions/aws/runtime.ts readSecrets). */
export const SECRET_ACTIONS = ['secretsmanager:GetSecretValue'];

/** A function that guards and the ECR actions its code calls. */
export interface Guarding {
  fn: TagwardenFunction;
  ecrActions: readonly string[];
}

/** Lets a function read the Tagwarden secret, nothing more (grantRead would add DescribeSecret). */
export function grantSecretRead(secret: Secret, fn: TagwardenFunction): void {
  fn.addToRolePolicy(new PolicyStatement({ actions: SECRET_ACTIONS, resources: [secret.secretArn] }));
  secret.encryptionKey?.grantDecrypt(fn);
}

/** Lets a function read and write the history table and its index gsi1, with the store's actions only. */
export function grantHistory(fn: TagwardenFunction, table: ITable): void {
  fn.addToRolePolicy(
    new PolicyStatement({
      actions: HISTORY_TABLE_ACTIONS,
      resources: [table.tableArn, `${table.tableArn}/index/gsi1`],
    }),
  );
  table.encryptionKey?.grantEncryptDecrypt(fn);
}

/**
 * Lets the functions that guard (consumer, sweep) read and write the history table (and its index
 * gsi1) and act on the guarded ECR repositories (all of the account's when none are named), each
 * with exactly the actions its code calls; the repository wildcard is acknowledged to cdk-nag with
 * the reason it is needed.
 */
export function grantGuarding(
  stack: Stack,
  guarding: readonly Guarding[],
  table: ITable,
  repositories: readonly string[],
): void {
  const ecrResources =
    repositories.length > 0
      ? repositories.map((name) =>
          stack.formatArn({ service: 'ecr', resource: 'repository', resourceName: name }),
        )
      : [stack.formatArn({ service: 'ecr', resource: 'repository', resourceName: '*' })];
  for (const { fn, ecrActions } of guarding) {
    grantHistory(fn, table);
    fn.addToRolePolicy(new PolicyStatement({ actions: [...ecrActions], resources: ecrResources }));
    if (repositories.length > 0) continue;
    // On the role: cdk-nag reports the finding on the role's policy, and CDK matches an
    // acknowledgement to the finding's construct or one of its parents.
    Validations.of(fn.role!).acknowledge(
      ...ecrResources.map((arn) => ({
        id: `AwsSolutions::AwsSolutions-IAM5[${nagResource(stack, arn)}]`,
        reason:
          'No repositories were configured (context repositories), so every ECR repository of this account and region is guarded; configure them to scope this.',
      })),
    );
  }
}

/**
 * How cdk-nag names a resource in a finding (`Resource::<Logical.Arn>/index/*`,
 * `Resource::arn:<AWS::Partition>:ecr:…`): the resolved value with Ref/GetAtt flattened, so each
 * acknowledgement names exactly the resource it accepts, for new and existing tables alike.
 */
export function nagResource(stack: Stack, value: string): string {
  const flatten = (node: unknown): string => {
    if (typeof node === 'string') return node.replace(/\$\{/g, '<').replace(/\}/g, '>');
    if (node && typeof node === 'object') {
      const o = node as Record<string, unknown>;
      if (Array.isArray(o['Fn::Join'])) {
        const [delimiter, items] = o['Fn::Join'] as [string, unknown[]];
        return items.map(flatten).join(delimiter);
      }
      if (o['Fn::Sub'] !== undefined) return flatten(o['Fn::Sub']);
      if (Array.isArray(o['Fn::GetAtt'])) {
        const [resource, attribute] = o['Fn::GetAtt'] as [unknown, unknown];
        return `<${flatten(resource)}.${flatten(attribute)}>`;
      }
      if (o['Fn::ImportValue'] !== undefined) return flatten(o['Fn::ImportValue']);
      if (o.Ref !== undefined) return `<${flatten(o.Ref)}>`;
    }
    return JSON.stringify(node);
  };
  return `Resource::${flatten(stack.resolve(value))}`;
}
