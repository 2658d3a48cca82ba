import { SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { JobQueueName } from '../../domain/jobs/jobs.js';
import type { JobQueue } from '../../domain/ports/jobs.js';

/** Job ids to SQS; the W3C traceparent rides along as a message attribute. */
export class SqsJobQueue implements JobQueue {
  constructor(
    private readonly client: SQSClient,
    private readonly queueUrls: Readonly<Record<JobQueueName, string | undefined>>,
  ) {}

  async send(queue: JobQueueName, jobId: string, options: { delaySeconds?: number; traceparent?: string } = {}): Promise<void> {
    const queueUrl = this.queueUrls[queue];
    if (!queueUrl) throw new Error(`no URL configured for the ${queue} queue`);
    await this.client.send(
      new SendMessageCommand({
        QueueUrl: queueUrl,
        MessageBody: JSON.stringify({ job_id: jobId }),
        DelaySeconds: options.delaySeconds,
        MessageAttributes: options.traceparent ? { traceparent: { DataType: 'String', StringValue: options.traceparent } } : undefined,
      }),
    );
  }
}
