// The outbox of background work: job records and the queues that carry their ids.

import type { Job, JobQueueName, JobStatus } from '../jobs/jobs.js';

export interface JobRepository {
  /** Records a pending job; false when a job with that id already exists (idempotent submit). */
  create(job: Job): Promise<boolean>;
  get(jobId: string): Promise<Job | undefined>;
  markSent(jobId: string, at: string): Promise<void>;
  /** Marks a pending job finished and takes it out of the outbox index. */
  finish(jobId: string, status: Exclude<JobStatus, 'pending'>, outcome: string): Promise<void>;
  /** Pending jobs of a queue created before `beforeIso`, oldest first. */
  pendingBefore(queue: JobQueueName, beforeIso: string, limit: number): Promise<Job[]>;
}

/**
 * Sends a job's id to its queue; the message body is `{"job_id": "..."}`. An
 * adapter carries the sender's trace along, so the worker continues it.
 */
/** A job whose message did not reach its queue: `error` is an error class or the queue's code, never a message. */
export interface UnsentJob {
  readonly jobId: string;
  readonly error: string;
}

export interface JobQueue {
  send(queue: JobQueueName, jobId: string, options?: { delaySeconds?: number }): Promise<void>;
  /** Sends several jobs' ids to one queue in as few requests as it can; answers the ones it could not send, each with why. */
  sendAll(queue: JobQueueName, jobIds: readonly string[]): Promise<readonly UnsentJob[]>;
}
