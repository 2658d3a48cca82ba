// Rotation jobs on the wire.
import * as z from 'zod';
import type { Job } from '../../domain/jobs/jobs.js';
import { nullableTimestamp, timestamp } from '../schemas.js';

export const jobSchema = z
  .strictObject({
    job_id: z.string(),
    kind: z.string(),
    status: z.string(),
    path: z.string().nullable(),
    outcome: z.string().nullable(),
    created_at: timestamp,
    finished_at: nullableTimestamp,
  })
  .meta({ id: 'Job' });

export const jobJson = (job: Job): z.infer<typeof jobSchema> => ({
  job_id: job.jobId,
  kind: job.kind,
  status: job.status,
  path: typeof job.payload.path === 'string' ? job.payload.path : null,
  outcome: job.outcome ?? null,
  created_at: job.createdAt,
  finished_at: job.finishedAt ?? null,
});
