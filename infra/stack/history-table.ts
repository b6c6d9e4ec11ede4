import { RemovalPolicy, type Stack } from 'aws-cdk-lib';
import {
  AttributeType,
  BillingMode,
  type ITable,
  ProjectionType,
  Table,
  TableEncryption,
} from 'aws-cdk-lib/aws-dynamodb';

/**
 * The history table (keys pk/sk, index gsi1 on gsi1pk/gsi1sk), kept when the stack is deleted.
 * Built in the stack's own scope, as every part of the stack is, so logical ids stay those of a
 * deployed stack (a construct in between would rename, and so replace, every resource).
 */
export function historyTable(stack: Stack): ITable {
  const table = new Table(stack, 'History', {
    partitionKey: { name: 'pk', type: AttributeType.STRING },
    sortKey: { name: 'sk', type: AttributeType.STRING },
    billingMode: BillingMode.PAY_PER_REQUEST,
    pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
    encryption: TableEncryption.AWS_MANAGED,
    removalPolicy: RemovalPolicy.RETAIN,
    // Drift report ids (REPORT# items) carry `expiresAt`: DynamoDB forgets them once no replay could pass.
    timeToLiveAttribute: 'expiresAt',
  });
  table.addGlobalSecondaryIndex({
    indexName: 'gsi1',
    partitionKey: { name: 'gsi1pk', type: AttributeType.STRING },
    sortKey: { name: 'gsi1sk', type: AttributeType.STRING },
    projectionType: ProjectionType.ALL,
  });
  // CDK's types predate exactOptionalPropertyTypes: a Table is an ITable, the checker disagrees.
  return table as unknown as ITable;
}
