import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { jobIdOf } from '../domain/jobs/jobs.js';
import { describeError, type Logger } from '../observability/logger.js';

export interface JobBatchOptions {
  /** Runs one job; throws to have SQS deliver the message again. */
  readonly run: (jobId: string) => Promise<void>;
  /** The message's last delivery failed: the queue's redrive moves it to the DLQ next. */
  readonly onLastAttempt: (jobId: string, error: unknown) => Promise<void>;
  readonly maxReceiveCount: number;
  readonly logger: Logger;
  readonly queue: string;
}

/**
 * An SQS batch of job messages with partial batch responses: successes are
 * deleted by the event source mapping, failures come back after their
 * visibility timeout, and a message past its last attempt is reported first.
 */
export const processJobBatch = async (event: SQSEvent, options: JobBatchOptions): Promise<SQSBatchResponse> => {
  const batchItemFailures: SQSBatchResponse['batchItemFailures'] = [];
  const seen = new Set<string>();
  for (const record of event.Records) {
    const jobId = jobIdOf(record.body);
    if (!jobId) {
      // Not a job message: no retry can fix it.
      options.logger.warn('dropping a message that names no job', { queue: options.queue, message_id: record.messageId });
      continue;
    }
    // The same job twice in one batch runs once.
    if (seen.has(jobId)) continue;
    seen.add(jobId);
    try {
      await options.run(jobId);
    } catch (error) {
      const receiveCount = Number(record.attributes.ApproximateReceiveCount ?? '1');
      options.logger.warn('job attempt failed', { queue: options.queue, job_id: jobId, attempt: receiveCount, error: describeError(error) });
      if (receiveCount >= options.maxReceiveCount) await options.onLastAttempt(jobId, error).catch(() => undefined);
      batchItemFailures.push({ itemIdentifier: record.messageId });
    }
  }
  return { batchItemFailures };
};
