import type { SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { describeError } from '../domain/errors.js';
import { jobIdOf, type JobQueueName } from '../domain/jobs/jobs.js';
import type { DomainLogger } from '../domain/ports/logging.js';
import type { JobAttemptOutcome, JobMetrics } from '../domain/ports/metrics.js';
import { withLogContext } from '../observability/log-context.js';
import { withMessageSpan } from '../observability/message-tracing.js';
import { defaultTracing, type Tracing } from '../observability/tracing.js';

/**
 * How a run ended. The message is deleted after `done` (success), `failed`
 * (finished as failed, e.g. a rotation whose rotator refused), `partial` (done,
 * but its closing audit record was lost) and `skipped` (already finished: a
 * redelivery, not counted again). `keep` leaves it to come back after its
 * visibility timeout (a retry); `dead-letter` leaves it for the queue's redrive
 * after its last attempt.
 */
export type JobResult = 'done' | 'failed' | 'partial' | 'skipped' | 'keep' | 'dead-letter';

const OUTCOMES: Record<JobResult | 'thrown' | 'last', JobAttemptOutcome | undefined> = {
  done: 'success',
  failed: 'failed',
  partial: 'partial',
  skipped: undefined,
  keep: 'retry',
  'dead-letter': 'failed',
  thrown: 'retry',
  last: 'failed',
};
const DELETED: ReadonlySet<JobResult> = new Set(['done', 'failed', 'partial', 'skipped']);

export interface JobBatchOptions {
  /** Runs one job; throws (or answers `keep`) to have SQS deliver the message again. */
  readonly run: (jobId: string, record: SQSRecord) => Promise<JobResult | void>;
  /** The message's last delivery failed: the queue's redrive moves it to the DLQ next. */
  readonly onLastAttempt?: (jobId: string, error: unknown) => Promise<void>;
  readonly maxReceiveCount: number;
  readonly logger: Pick<DomainLogger, 'warn'>;
  readonly queue: JobQueueName;
  /** The job family: every attempt's duration and result, the same for every queue. */
  readonly metrics?: Pick<JobMetrics, 'jobAttempted'>;
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

/** Runs the job and reports the attempt to the job family, whatever happened. */
const measured = async (jobId: string, record: SQSRecord, receiveCount: number, options: JobBatchOptions): Promise<JobResult> => {
  const started = performance.now();
  const report = (outcome: JobAttemptOutcome | undefined) => {
    if (outcome) options.metrics?.jobAttempted(options.queue, outcome, (performance.now() - started) / 1000);
  };
  try {
    const result = await runJob(jobId, record, receiveCount, options);
    report(OUTCOMES[result]);
    return result;
  } catch (error) {
    report(OUTCOMES[receiveCount >= options.maxReceiveCount ? 'last' : 'thrown']);
    throw error;
  }
};

/**
 * True when the job is done and its message may be deleted. The job runs in a
 * SERVER span continuing the trace its message carries, so its SDK calls (and
 * the report of a last attempt) are its children; its log lines carry its job
 * id and the request id of the call that queued it.
 */
const attempt = async (jobId: string, record: SQSRecord, options: JobBatchOptions): Promise<boolean> => {
  const receiveCount = Math.max(1, Number(record.attributes.ApproximateReceiveCount) || 1);
  const attributes = { 'scaivault.job.type': options.queue, 'scaivault.job.id': jobId, 'scaivault.job.attempt': receiveCount };
  const requestId = record.messageAttributes?.request_id?.stringValue;
  const run = () => withLogContext({ job_id: jobId, request_id: requestId }, () => measured(jobId, record, receiveCount, options));
  const result = await withMessageSpan(options.tracing ?? defaultTracing, `${options.queue} job`, record, attributes, run, (outcome) => ({
    'scaivault.job.result': outcome,
  })).catch(() => 'thrown' as const);
  return result !== 'thrown' && DELETED.has(result);
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
