import {
  CreateTableCommand,
  DescribeTableCommand,
  ResourceNotFoundException,
  UpdateTimeToLiveCommand,
  type DynamoDBClient,
} from '@aws-sdk/client-dynamodb';

// The shape connect-dynamodb reads and writes: items keyed by the string attribute `id`, expiring
// at `expires` (epoch seconds). 02-data.yaml declares the same table; a test keeps them equal.
export const sessionTableKey = 'id';
export const sessionTtlAttribute = 'expires';

/**
 * Creates the sessions table where nothing else does (embedded and local services). On AWS the
 * data stack owns the table: connect-dynamodb's own creation races under concurrent first
 * requests, so the app never relies on it.
 */
export async function ensureSessionTable(client: DynamoDBClient, tableName: string): Promise<void> {
  try {
    await client.send(new DescribeTableCommand({ TableName: tableName }));
    return;
  } catch (error) {
    if (!(error instanceof ResourceNotFoundException)) throw error;
  }
  await client.send(
    new CreateTableCommand({
      TableName: tableName,
      AttributeDefinitions: [{ AttributeName: sessionTableKey, AttributeType: 'S' }],
      KeySchema: [{ AttributeName: sessionTableKey, KeyType: 'HASH' }],
      BillingMode: 'PAY_PER_REQUEST',
    }),
  );
  try {
    await client.send(
      new UpdateTimeToLiveCommand({
        TableName: tableName,
        TimeToLiveSpecification: { AttributeName: sessionTtlAttribute, Enabled: true },
      }),
    );
  } catch {
    // dynalite does not implement UpdateTimeToLive; expired sessions are still refused on read.
  }
}
