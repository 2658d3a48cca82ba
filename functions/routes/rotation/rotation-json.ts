// Rotation jobs on the wire.
import * as z from 'zod/mini';
import type { Job } from '../../domain/jobs/jobs.js';
import { nullableTimestamp, timestamp } from '../schemas.js';

export const jobSchema = z
  .strictObject({
    job_id: z.string(),
    kind: z.string(),
    status: z.string(),
    path: z.nullable(z.string()),
    outcome: z.nullable(z.string()),
    created_at: timestamp,
    finished_at: nullableTimestamp,
  })
  .check(z.meta({ id: 'Job' }));

export const jobJson = (job: Job): z.infer<typeof jobSchema> => ({
  job_id: job.jobId,
  kind: job.kind,
  status: job.status,
  path: typeof job.payload.path === 'string' ? job.payload.path : null,
  outcome: job.outcome ?? null,
  created_at: job.createdAt,
  finished_at: job.finishedAt ?? null,
});
