import { CreateTableCommand, DescribeTableCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { createTableInput } from '../functions/adapters/dynamodb/dynamodb-table-dumper.js';
import { CreateBucketCommand, HeadBucketCommand, type S3Client } from '@aws-sdk/client-s3';
import { CreateQueueCommand, GetQueueAttributesCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { deadLetterQueueId, type BucketDefinition, type QueueDefinition, type TableDefinition } from '../functions/runtime/definitions.js';

// Creates the embedded stack's tables, queues and bucket from the same
// definitions the CDK stateful stack deploys. Every step is idempotent.

/** The table's status, or undefined when it does not exist. */
const tableStatus = async (client: DynamoDBClient, name: string): Promise<string | undefined> => {
  try {
    return (await client.send(new DescribeTableCommand({ TableName: name }))).Table?.TableStatus;
  } catch (error) {
    if ((error as Error).name === 'ResourceNotFoundException') return undefined;
    throw error;
  }
};

/** Creates the table if it is missing, and returns once it is ACTIVE: a CREATING table refuses item calls. */
export const ensureTable = async (client: DynamoDBClient, table: TableDefinition, timeoutMs = 30_000): Promise<void> => {
  let status = await tableStatus(client, table.id);
  if (status === undefined) status = (await client.send(new CreateTableCommand(createTableInput(table, table.id)))).TableDescription?.TableStatus;
  const deadline = Date.now() + timeoutMs;
  while (status !== 'ACTIVE') {
    if (Date.now() > deadline) throw new Error(`table ${table.id} is still ${status ?? 'missing'} after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
    status = await tableStatus(client, table.id);
  }
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
