import { CreateTableCommand, DescribeTableCommand, type DynamoDBClient, type KeySchemaElement } from '@aws-sdk/client-dynamodb';
import { CreateBucketCommand, HeadBucketCommand, type S3Client } from '@aws-sdk/client-s3';
import { CreateQueueCommand, GetQueueAttributesCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { deadLetterQueueId, type BucketDefinition, type QueueDefinition, type TableDefinition } from '../functions/runtime/definitions.js';

// Creates the embedded stack's tables, queues and bucket from the same
// definitions the CDK stateful stack deploys. Every step is idempotent.

const keySchema = (partition: { name: string }, sort?: { name: string }): KeySchemaElement[] => [
  { AttributeName: partition.name, KeyType: 'HASH' },
  ...(sort ? [{ AttributeName: sort.name, KeyType: 'RANGE' as const }] : []),
];

export const ensureTable = async (client: DynamoDBClient, table: TableDefinition): Promise<void> => {
  try {
    await client.send(new DescribeTableCommand({ TableName: table.id }));
    return;
  } catch (error) {
    if ((error as Error).name !== 'ResourceNotFoundException') throw error;
  }
  const attributes = new Map<string, 'S' | 'N'>();
  for (const attribute of [table.partitionKey, table.sortKey, ...table.globalSecondaryIndexes.flatMap((i) => [i.partitionKey, i.sortKey])]) {
    if (attribute) attributes.set(attribute.name, attribute.type);
  }
  await client.send(
    new CreateTableCommand({
      TableName: table.id,
      BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: [...attributes].map(([AttributeName, AttributeType]) => ({ AttributeName, AttributeType })),
      KeySchema: keySchema(table.partitionKey, table.sortKey),
      GlobalSecondaryIndexes: table.globalSecondaryIndexes.length
        ? table.globalSecondaryIndexes.map((index) => ({
            IndexName: index.indexName,
            KeySchema: keySchema(index.partitionKey, index.sortKey),
            Projection: { ProjectionType: 'ALL' },
          }))
        : undefined,
    }),
  );
};

/** Creates a queue and its dead-letter queue; returns the main queue's URL. */
export const ensureQueue = async (client: SQSClient, queue: QueueDefinition): Promise<string> => {
  const dlq = await client.send(
    new CreateQueueCommand({ QueueName: deadLetterQueueId(queue), Attributes: { MessageRetentionPeriod: String(14 * 24 * 3600) } }),
  );
  const dlqArn = await queueArnOf(client, dlq.QueueUrl ?? '');
  const created = await client.send(
    new CreateQueueCommand({
      QueueName: queue.id,
      Attributes: {
        VisibilityTimeout: String(queue.visibilityTimeoutSeconds),
        MessageRetentionPeriod: String(queue.retentionDays * 24 * 3600),
        RedrivePolicy: JSON.stringify({ deadLetterTargetArn: dlqArn, maxReceiveCount: queue.maxReceiveCount }),
      },
    }),
  );
  if (!created.QueueUrl) throw new Error(`queue ${queue.id} has no URL`);
  return created.QueueUrl;
};

export const ensureBucket = async (client: S3Client, bucket: BucketDefinition): Promise<string> => {
  try {
    await client.send(new HeadBucketCommand({ Bucket: bucket.id }));
  } catch {
    await client.send(new CreateBucketCommand({ Bucket: bucket.id }));
  }
  return bucket.id;
};

export const queueArnOf = async (client: SQSClient, queueUrl: string): Promise<string> => {
  const arn = (await client.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['QueueArn'] }))).Attributes?.QueueArn;
  if (!arn) throw new Error(`queue ${queueUrl} has no ARN`);
  return arn;
};
