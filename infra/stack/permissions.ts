import { type Stack, Validations } from 'aws-cdk-lib';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { TagwardenFunction } from '../tagwarden-function';

/** The ECR actions Tagwarden uses: read digests and manifests, put a manifest back, lock tags, read owners. */
export const ECR_ACTIONS = [
  'ecr:BatchGetImage',
  'ecr:DescribeImages',
  'ecr:PutImage',
  'ecr:PutImageTagMutability',
  'ecr:ListTagsForResource',
  'ecr:DescribeRepositories',
];

/**
 * Lets the functions that guard (consumer, sweep) read and write the history table and act on the
 * guarded ECR repositories (all of the account's when none are named), each wildcard acknowledged
 * to cdk-nag with the reason it is needed.
 */
export function grantGuarding(
  stack: Stack,
  functions: readonly TagwardenFunction[],
  table: ITable,
  repositories: readonly string[],
): void {
  const ecrResources =
    repositories.length > 0
      ? repositories.map((name) =>
          stack.formatArn({ service: 'ecr', resource: 'repository', resourceName: name }),
        )
      : [stack.formatArn({ service: 'ecr', resource: 'repository', resourceName: '*' })];
  for (const fn of functions) {
    table.grantReadWriteData(fn);
    fn.addToRolePolicy(new PolicyStatement({ actions: ECR_ACTIONS, resources: ecrResources }));
    // On the role: cdk-nag reports the finding on the role's policy, and CDK matches an
    // acknowledgement to the finding's construct or one of its parents.
    Validations.of(fn.role!).acknowledge(
      {
        id: `AwsSolutions::AwsSolutions-IAM5[${nagResource(stack, `${table.tableArn}/index/*`)}]`,
        reason:
          'grantReadWriteData covers the indexes of the one history table: the outbox is read through its index gsi1.',
      },
      ...(repositories.length > 0
        ? []
        : ecrResources.map((arn) => ({
            id: `AwsSolutions::AwsSolutions-IAM5[${nagResource(stack, arn)}]`,
            reason:
              'No repositories were configured (context repositories), so every ECR repository of this account and region is guarded; configure them to scope this.',
          }))),
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
