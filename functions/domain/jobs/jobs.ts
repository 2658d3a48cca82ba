import { randomUUID } from 'node:crypto';
import { DependencyUnavailableError } from '../errors.js';
import type { JobQueue, JobRepository, UnsentJob } from '../ports/jobs.js';
import type { DomainLogger } from '../ports/logging.js';
import type { JobMetrics } from '../ports/metrics.js';

// Background work goes through an outbox: a job is recorded in DynamoDB (the
// source of truth) before its message is sent to SQS, and the scheduler
// re-sends jobs left pending too long. Workers are idempotent per job id, so a
// redelivered or re-sent message has one effect.

export const JOB_QUEUES = ['rotation', 'webhook', 'audit-export'] as const;
export type JobQueueName = (typeof JOB_QUEUES)[number];
export type JobStatus = 'pending' | 'succeeded' | 'failed';

export interface Job {
  readonly jobId: string;
  readonly queue: JobQueueName;
  /** What the worker does, e.g. `rotate-secret`, `deliver-webhook`. */
  readonly kind: string;
  readonly tenantId: string;
  readonly payload: Readonly<Record<string, unknown>>;
  readonly createdAt: string;
  readonly status: JobStatus;
  /** When its message was last handed to the queue; absent while it never was. */
  readonly sentAt?: string;
  /** Set when the job finished: a short reason for failures, never a secret. */
  readonly outcome?: string;
  readonly finishedAt?: string;
}

export const newJobId = (prefix: string): string => `${prefix}_${randomUUID().replaceAll('-', '')}`;

/** The job id an SQS message carries, or undefined when the body is not ours. */
export const jobIdOf = (body: string): string | undefined => {
  try {
    const parsed = JSON.parse(body) as { job_id?: unknown };
    return typeof parsed.job_id === 'string' && /^[a-z]+_[A-Za-z0-9_-]{8,200}$/.test(parsed.job_id) ? parsed.job_id : undefined;
  } catch {
    return undefined;
  }
};

/** Submits jobs through the outbox and re-sends the ones left behind. */
export class JobService {
  constructor(
    private readonly repository: JobRepository,
    private readonly queue: JobQueue,
    private readonly logger: Pick<DomainLogger, 'warn'>,
    private readonly now: () => number = Date.now,
    private readonly metrics?: Pick<JobMetrics, 'jobQueued'>,
  ) {}

  /**
   * Records the job, then sends it. A send that fails is not an error for the
   * caller: the job is durable and the scheduler re-sends it.
   */
  async submit(job: Omit<Job, 'createdAt' | 'status'>): Promise<Job> {
    const current = await this.record(job);
    if (current.status === 'pending') await this.send(current).catch(() => undefined);
    return current;
  }

  /**
   * Several jobs of one queue, as `submit` does each, with their messages sent
   * in batches: one fan-out costs one queue request per ten jobs. Settles each
   * job on its own, in order: a job not recorded is a rejection for its caller.
   */
  async submitAll(queue: JobQueueName, jobs: readonly Omit<Job, 'createdAt' | 'status' | 'queue'>[]): Promise<PromiseSettledResult<Job>[]> {
    const recorded = await Promise.allSettled(jobs.map((job) => this.record({ ...job, queue })));
    const pending = recorded.flatMap((result) => (result.status === 'fulfilled' && result.value.status === 'pending' ? [result.value.jobId] : []));
    // As in `submit`, a send that fails is not the caller's failure: the jobs are durable and the scheduler re-sends them.
    if (pending.length > 0) await this.sendAll(queue, pending);
    return recorded;
  }

  /** Records the job, or finds the one already recorded under its id (an idempotent re-submit). */
  private async record(job: Omit<Job, 'createdAt' | 'status'>): Promise<Job> {
    const recorded: Job = { ...job, createdAt: new Date(this.now()).toISOString(), status: 'pending' };
    const created = await this.repository.create(recorded);
    if (created) this.metrics?.jobQueued(job.queue);
    return created ? recorded : ((await this.repository.get(job.jobId)) ?? recorded);
  }

  /**
   * Re-sends pending jobs whose message is probably gone, on every queue: never sent and older
   * than `unsentAfterMs`, or sent but still pending after `lostAfterMs` (longer than any retry
   * schedule, e.g. a queue emptied by a restart). Returns how many were sent. A queue that fails
   * does not hold up the others; the run then fails with the first failure.
   */
  async resendStale(windows: { unsentAfterMs: number; lostAfterMs: number }, limit = 100): Promise<number> {
    let resent = 0;
    let failure: unknown;
    for (const queue of JOB_QUEUES) {
      try {
        resent += await this.resendStaleOn(queue, windows, limit);
      } catch (error) {
        failure ??= error;
      }
    }
    if (failure !== undefined) throw failure;
    return resent;
  }

  private async resendStaleOn(queue: JobQueueName, windows: { unsentAfterMs: number; lostAfterMs: number }, limit: number): Promise<number> {
    const now = this.now();
    const candidates = await this.repository.pendingBefore(queue, new Date(now - windows.unsentAfterMs).toISOString(), limit);
    const stale = candidates.filter((job) => !job.sentAt || now - Date.parse(job.sentAt) > windows.lostAfterMs);
    if (stale.length === 0) return 0;
    const unsent = await this.sendAll(
      queue,
      stale.map((job) => job.jobId),
    );
    // The run says it could not reach the queue; the jobs stay pending for the next one.
    if (unsent.length > 0) {
      throw new DependencyUnavailableError(`${queue} queue`, {
        cause: new Error(`${unsent.length} of ${stale.length} jobs not re-sent (${unsent[0]!.error})`),
      });
    }
    return stale.length;
  }

  /**
   * Sends the jobs' messages in batches and marks the sent ones; logs and returns
   * the ones not sent, which stay pending for the scheduler. Never throws.
   */
  private async sendAll(queue: JobQueueName, jobIds: readonly string[]): Promise<readonly UnsentJob[]> {
    const unsent = await this.queue
      .sendAll(queue, jobIds)
      .catch((error: unknown): UnsentJob[] => jobIds.map((jobId) => ({ jobId, error: (error as Error).name })));
    for (const { jobId, error } of unsent) this.logger.warn('job send failed; the scheduler will re-send it', { job_id: jobId, queue, error });
    const failed = new Set(unsent.map((job) => job.jobId));
    const sentAt = new Date(this.now()).toISOString();
    // A job whose mark is lost is sent again by a later run: the workers take each job id once.
    const marking = jobIds
      .filter((jobId) => !failed.has(jobId))
      .map((jobId) =>
        this.repository.markSent(jobId, sentAt).catch((error: unknown) => {
          this.logger.warn('job sent but not marked sent; a later run sends it again', { job_id: jobId, queue, error: (error as Error).name });
        }),
      );
    await Promise.all(marking);
    return unsent;
  }

  private async send(job: Job): Promise<void> {
    try {
      await this.queue.send(job.queue, job.jobId);
    } catch (error) {
      this.logger.warn('job send failed; the scheduler will re-send it', { job_id: job.jobId, queue: job.queue, error: (error as Error).name });
      throw error;
    }
    await this.repository.markSent(job.jobId, new Date(this.now()).toISOString());
  }
}
