import { SendMessageCommand, type MessageAttributeValue, type SQSClient } from '@aws-sdk/client-sqs';
import { context as otelContext, type TextMapSetter } from '@opentelemetry/api';
import type { JobQueueName } from '../../domain/jobs/jobs.js';
import type { JobQueue } from '../../domain/ports/jobs.js';
import { logContext } from '../../observability/log-context.js';
import { defaultTracing, type Tracing } from '../../observability/tracing.js';

type MessageAttributes = Record<string, MessageAttributeValue>;

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
    private readonly client: SQSClient,
    private readonly queueUrls: Readonly<Record<JobQueueName, string | undefined>>,
    private readonly tracing: Tracing = defaultTracing,
  ) {}

  async send(queue: JobQueueName, jobId: string, options: { delaySeconds?: number } = {}): Promise<void> {
    const queueUrl = this.queueUrls[queue];
    if (!queueUrl) throw new Error(`no URL configured for the ${queue} queue`);
    const attributes: MessageAttributes = {};
    this.tracing.inject(otelContext.active(), attributes, attributeSetter);
    // The request that queued the job: the worker's log lines carry it beside the job id.
    const requestId = logContext().request_id;
    if (typeof requestId === 'string') attributes.request_id = { DataType: 'String', StringValue: requestId };
    await this.client.send(
      new SendMessageCommand({
        QueueUrl: queueUrl,
        MessageBody: JSON.stringify({ job_id: jobId }),
        DelaySeconds: options.delaySeconds,
        MessageAttributes: Object.keys(attributes).length > 0 ? attributes : undefined,
      }),
    );
  }
}
