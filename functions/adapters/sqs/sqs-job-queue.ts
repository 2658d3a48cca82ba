import type { MessageAttributeValue } from '@aws-sdk/client-sqs';
import { context as otelContext, type TextMapSetter } from '@opentelemetry/api';
import type { JobQueueName } from '../../domain/jobs/jobs.js';
import type { JobQueue, UnsentJob } from '../../domain/ports/jobs.js';
import { logContext } from '../../observability/log-context.js';
import { defaultTracing, type Tracing } from '../../observability/tracing.js';
import { sqsSdk, type SqsSender } from './sqs-sdk.js';

type MessageAttributes = Record<string, MessageAttributeValue>;

const SEND_BATCH_LIMIT = 10;

const attributeSetter: TextMapSetter<MessageAttributes> = {
  set: (carrier, key, value) => {
    carrier[key] = { DataType: 'String', StringValue: value };
  },
};

/**
 * Job ids to SQS. The trace of the request or scheduler run that sends the job
 * rides along as message attributes (W3C `traceparent`, `tracestate`,
 * `baggage`), so the worker continues it, and so does its `request_id`.
 */
export class SqsJobQueue implements JobQueue {
  constructor(
    private readonly client: SqsSender,
    private readonly queueUrls: Readonly<Record<JobQueueName, string | undefined>>,
    private readonly tracing: Tracing = defaultTracing,
  ) {}

  async send(queue: JobQueueName, jobId: string, options: { delaySeconds?: number } = {}): Promise<void> {
    const attributes = this.attributes();
    const { SendMessageCommand } = await sqsSdk();
    await this.client.send(
      new SendMessageCommand({
        QueueUrl: this.urlOf(queue),
        MessageBody: JSON.stringify({ job_id: jobId }),
        DelaySeconds: options.delaySeconds,
        MessageAttributes: attributes,
      }),
    );
  }

  /** Ten messages a request (SQS's batch limit), the batches concurrently; answers the jobs not sent and why. */
  async sendAll(queue: JobQueueName, jobIds: readonly string[]): Promise<readonly UnsentJob[]> {
    const queueUrl = this.urlOf(queue);
    const attributes = this.attributes();
    const { SendMessageBatchCommand } = await sqsSdk();
    const batches = Array.from({ length: Math.ceil(jobIds.length / SEND_BATCH_LIMIT) }, (_, i) =>
      jobIds.slice(i * SEND_BATCH_LIMIT, (i + 1) * SEND_BATCH_LIMIT),
    );
    const unsent = await Promise.all(
      batches.map(async (batch) => {
        try {
          const { Failed = [] } = await this.client.send(
            new SendMessageBatchCommand({
              QueueUrl: queueUrl,
              Entries: batch.map((jobId, index) => ({ Id: String(index), MessageBody: JSON.stringify({ job_id: jobId }), MessageAttributes: attributes })),
            }),
          );
          return Failed.flatMap((failure) => {
            const jobId = batch[Number(failure.Id)];
            return jobId === undefined ? [] : [{ jobId, error: failure.Code ?? 'SendMessageBatchEntryFailed' }];
          });
        } catch (error) {
          return batch.map((jobId) => ({ jobId, error: (error as Error).name }));
        }
      }),
    );
    return unsent.flat();
  }

  private urlOf(queue: JobQueueName): string {
    const queueUrl = this.queueUrls[queue];
    if (!queueUrl) throw new Error(`no URL configured for the ${queue} queue`);
    return queueUrl;
  }

  /** The sender's trace and request id, or undefined outside both. */
  private attributes(): MessageAttributes | undefined {
    const attributes: MessageAttributes = {};
    this.tracing.inject(otelContext.active(), attributes, attributeSetter);
    // The request that queued the job: the worker's log lines carry it beside the job id.
    const requestId = logContext().request_id;
    if (typeof requestId === 'string') attributes.request_id = { DataType: 'String', StringValue: requestId };
    return Object.keys(attributes).length > 0 ? attributes : undefined;
  }
}
