import type { SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { describeError } from '../domain/errors.js';
import { jobIdOf } from '../domain/jobs/jobs.js';
import type { DomainLogger } from '../domain/ports/logging.js';
import { withMessageSpan } from '../observability/message-tracing.js';
import { defaultTracing, type Tracing } from '../observability/tracing.js';

/** `keep` leaves the message to come back after its visibility timeout (a retry, or the DLQ after its last receive). */
export type JobResult = 'done' | 'keep';

export interface JobBatchOptions {
  /** Runs one job; throws (or answers `keep`) to have SQS deliver the message again. */
  readonly run: (jobId: string, record: SQSRecord) => Promise<JobResult | void>;
  /** The message's last delivery failed: the queue's redrive moves it to the DLQ next. */
  readonly onLastAttempt?: (jobId: string, error: unknown) => Promise<void>;
  readonly maxReceiveCount: number;
  readonly logger: Pick<DomainLogger, 'warn'>;
  readonly queue: string;
  /** Runs the batch's jobs at once (ten slow receivers must not add up past the visibility timeout) instead of one after another. */
  readonly concurrent?: boolean;
  /** Where the job spans go; the container's tracing unless given. */
  readonly tracing?: Tracing;
}

/** The batch's job messages, one per job: a message that names no job is dropped, the same job twice runs once. */
const jobsOf = (event: SQSEvent, options: JobBatchOptions): [string, SQSRecord][] => {
  const jobs = new Map<string, SQSRecord>();
  for (const record of event.Records) {
    const jobId = jobIdOf(record.body);
    // Not a job message: no retry can fix it.
    if (!jobId) options.logger.warn('dropping a message that names no job', { queue: options.queue, message_id: record.messageId });
    // Another message for the same job is deleted; a second copy of the same message shares the first one's fate.
    else if (!jobs.has(jobId)) jobs.set(jobId, record);
  }
  return [...jobs];
};

/** Runs one job: throws when it failed, after reporting a last attempt. */
const runJob = async (jobId: string, record: SQSRecord, receiveCount: number, options: JobBatchOptions): Promise<JobResult> => {
  try {
    return (await options.run(jobId, record)) ?? 'done';
  } catch (error) {
    options.logger.warn('job attempt failed', { queue: options.queue, job_id: jobId, attempt: receiveCount, error: describeError(error) });
    if (receiveCount >= options.maxReceiveCount && options.onLastAttempt) await options.onLastAttempt(jobId, error).catch(() => undefined);
    throw error;
  }
};

/**
 * True when the job is done and its message may be deleted. The job runs in a
 * SERVER span continuing the trace its message carries, so its SDK calls (and
 * the report of a last attempt) are its children.
 */
const attempt = async (jobId: string, record: SQSRecord, options: JobBatchOptions): Promise<boolean> => {
  const receiveCount = Math.max(1, Number(record.attributes.ApproximateReceiveCount) || 1);
  const attributes = { 'scaivault.job.type': options.queue, 'scaivault.job.id': jobId, 'scaivault.job.attempt': receiveCount };
  const run = () => runJob(jobId, record, receiveCount, options);
  const result = await withMessageSpan(options.tracing ?? defaultTracing, `${options.queue} job`, record, attributes, run, (outcome) => ({
    'scaivault.job.result': outcome,
  })).catch(() => 'failed' as const);
  return result === 'done';
};

/**
 * An SQS batch of job messages with partial batch responses: successes are
 * deleted by the event source mapping, failures come back after their
 * visibility timeout, and a message past its last attempt is reported first.
 */
export const processJobBatch = async (event: SQSEvent, options: JobBatchOptions): Promise<SQSBatchResponse> => {
  const batchItemFailures: SQSBatchResponse['batchItemFailures'] = [];
  const settle = async ([jobId, record]: [string, SQSRecord]) => {
    if (!(await attempt(jobId, record, options))) batchItemFailures.push({ itemIdentifier: record.messageId });
  };
  const jobs = jobsOf(event, options);
  if (options.concurrent) await Promise.all(jobs.map(settle));
  else for (const job of jobs) await settle(job);
  return { batchItemFailures };
};
