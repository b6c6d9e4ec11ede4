import {
  type AttributeDefinition,
  CreateTableCommand,
  type DynamoDBClient,
  type GlobalSecondaryIndex,
  type KeySchemaElement,
} from '@aws-sdk/client-dynamodb';

/** The table, shared with the CDK stack: one table, string keys `pk`/`sk`, one index for the outbox. */
export const HISTORY_TABLE = {
  attributeDefinitions: [
    { AttributeName: 'pk', AttributeType: 'S' },
    { AttributeName: 'sk', AttributeType: 'S' },
    { AttributeName: 'gsi1pk', AttributeType: 'S' },
    { AttributeName: 'gsi1sk', AttributeType: 'S' },
  ] satisfies AttributeDefinition[],
  keySchema: [
    { AttributeName: 'pk', KeyType: 'HASH' },
    { AttributeName: 'sk', KeyType: 'RANGE' },
  ] satisfies KeySchemaElement[],
  globalSecondaryIndexes: [
    {
      IndexName: 'gsi1',
      KeySchema: [
        { AttributeName: 'gsi1pk', KeyType: 'HASH' },
        { AttributeName: 'gsi1sk', KeyType: 'RANGE' },
      ],
      Projection: { ProjectionType: 'ALL' },
    },
  ] satisfies GlobalSecondaryIndex[],
} as const;

export async function createHistoryTable(client: DynamoDBClient, tableName: string): Promise<void> {
  await client.send(
    new CreateTableCommand({
      TableName: tableName,
      AttributeDefinitions: HISTORY_TABLE.attributeDefinitions,
      KeySchema: HISTORY_TABLE.keySchema,
      GlobalSecondaryIndexes: HISTORY_TABLE.globalSecondaryIndexes,
      BillingMode: 'PAY_PER_REQUEST',
    }),
  );
}
