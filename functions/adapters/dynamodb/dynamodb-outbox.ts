import { QueryCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import { dynamoCall } from './dynamodb-call.js';

/**
 * Pending jobs are recorded in the state table before they are enqueued (the
 * outbox), indexed as gsi1pk `OUTBOX#<queue>`, gsi1sk `<enqueued ISO time>#<id>`.
 * The oldest one's age is the queue's true backlog age, which SQS does not report.
 */
export const oldestPendingAgeSeconds = async (client: DynamoDBClient, tableName: string, queue: string, now: number): Promise<number> => {
  const result = await dynamoCall(() =>
    client.send(
      new QueryCommand({
        TableName: tableName,
        IndexName: 'gsi1',
        KeyConditionExpression: 'gsi1pk = :pk',
        ExpressionAttributeValues: marshall({ ':pk': `OUTBOX#${queue}` }),
        ScanIndexForward: true,
        Limit: 1,
        ProjectionExpression: 'gsi1sk',
      }),
    ),
  );
  const oldest = result.Items?.[0] ? (unmarshall(result.Items[0]).gsi1sk as string) : undefined;
  if (!oldest) return 0;
  const enqueuedAt = Date.parse(oldest.split('#')[0] ?? '');
  return Number.isNaN(enqueuedAt) ? 0 : Math.max(0, (now - enqueuedAt) / 1000);
};
