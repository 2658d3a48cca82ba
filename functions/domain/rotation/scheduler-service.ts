import { createHash } from 'node:crypto';
import type { JobService } from '../jobs/jobs.js';
import type { DueRotation, RotationSchedule } from '../ports/rotation.js';

export interface SchedulerTick {
  readonly rotationsSubmitted: number;
  readonly jobsResent: number;
}

const scheduledJobId = (due: DueRotation): string =>
  `rot_sched${createHash('sha256').update(`${due.tenantId}\u0000${due.path}\u0000${due.version}`).digest('hex').slice(0, 32)}`;

/**
 * The scheduler's periodic work (EventBridge in AWS, a timer embedded): submit
 * rotations that are due, and re-send outbox jobs whose message was lost.
 */
export class SchedulerService {
  constructor(
    private readonly schedule: RotationSchedule,
    private readonly jobs: JobService,
    private readonly resend: { unsentAfterMs: number; lostAfterMs: number },
    private readonly now: () => number = Date.now,
  ) {}

  async tick(): Promise<SchedulerTick> {
    const due = await this.schedule.due(new Date(this.now()).toISOString(), 100);
    let rotationsSubmitted = 0;
    for (const rotation of due) {
      // A deterministic id per due version: ticks that see it again submit nothing new.
      const job = await this.jobs.submit({
        jobId: scheduledJobId(rotation),
        queue: 'rotation',
        kind: 'rotate-secret',
        tenantId: rotation.tenantId,
        payload: { path: rotation.path, reason: 'schedule' },
      });
      if (job.status === 'pending') rotationsSubmitted += 1;
    }
    const jobsResent = await this.jobs.resendStale(this.resend);
    return { rotationsSubmitted, jobsResent };
  }
}
