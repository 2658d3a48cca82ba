import { GetItemCommand, UpdateItemCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import type { Job, JobQueueName, JobStatus } from '../../domain/jobs/jobs.js';
import { dynamoCall, gsi1Before, putIfAbsent } from './dynamodb-call.js';
import type { JobRepository } from '../../domain/ports/jobs.js';

// Job items: pk JOB#<id>. While pending they sit in the sparse outbox index
// (gsi1pk OUTBOX#<queue>, gsi1sk <created ISO>#<id>), which also yields the
// queue's oldest pending age for metrics.

const key = (jobId: string) => ({ pk: `JOB#${jobId}`, sk: 'JOB' });
/** Finished jobs are kept a month for inspection, then tidied by TTL. */
const FINISHED_RETENTION_SECONDS = 30 * 24 * 3600;

const toJob = (item: Record<string, unknown>): Job => ({
  jobId: item.jobId as string,
  queue: item.queue as JobQueueName,
  kind: item.kind as string,
  tenantId: item.tenantId as string,
  payload: (item.payload as Record<string, unknown>) ?? {},
  createdAt: item.createdAt as string,
  status: item.status as JobStatus,
  ...(item.sentAt ? { sentAt: item.sentAt as string } : {}),
  ...(item.outcome ? { outcome: item.outcome as string } : {}),
  ...(item.finishedAt ? { finishedAt: item.finishedAt as string } : {}),
});

export class DynamoDbJobRepository implements JobRepository {
  constructor(
    private readonly client: DynamoDBClient,
    private readonly tableName: string,
  ) {}

  create(job: Job): Promise<boolean> {
    return putIfAbsent(this.client, this.tableName, { ...key(job.jobId), ...job, gsi1pk: `OUTBOX#${job.queue}`, gsi1sk: `${job.createdAt}#${job.jobId}` });
  }

  async get(jobId: string): Promise<Job | undefined> {
    const result = await dynamoCall(() => this.client.send(new GetItemCommand({ TableName: this.tableName, Key: marshall(key(jobId)), ConsistentRead: true })));
    return result.Item ? toJob(unmarshall(result.Item)) : undefined;
  }

  async markSent(jobId: string, at: string): Promise<void> {
    await dynamoCall(() =>
      this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: marshall(key(jobId)),
          UpdateExpression: 'SET sentAt = :at',
          ConditionExpression: 'attribute_exists(pk)',
          ExpressionAttributeValues: marshall({ ':at': at }),
        }),
      ),
    );
  }

  async finish(jobId: string, status: Exclude<JobStatus, 'pending'>, outcome: string): Promise<void> {
    const now = new Date();
    await dynamoCall(() =>
      this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: marshall(key(jobId)),
          UpdateExpression: 'SET #status = :status, outcome = :outcome, finishedAt = :at, #ttl = :ttl REMOVE gsi1pk, gsi1sk',
          ConditionExpression: 'attribute_exists(pk)',
          ExpressionAttributeNames: { '#status': 'status', '#ttl': 'ttl' },
          ExpressionAttributeValues: marshall({
            ':status': status,
            ':outcome': outcome.slice(0, 500),
            ':at': now.toISOString(),
            ':ttl': Math.ceil(now.getTime() / 1000) + FINISHED_RETENTION_SECONDS,
          }),
        }),
      ),
    );
  }

  async pendingBefore(queue: JobQueueName, beforeIso: string, limit: number): Promise<Job[]> {
    return (await gsi1Before(this.client, { TableName: this.tableName, Limit: limit }, `OUTBOX#${queue}`, beforeIso)).map(toJob);
  }
}
