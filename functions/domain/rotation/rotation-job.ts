// One rotation job as the rotation worker runs it: recorded in the audit trail
// before it starts (fail-closed, like a request) and after it finishes.
import { recordAfter, type AuditRecorder } from '../audit/audit-maintenance.js';
import type { JobRepository } from '../ports/jobs.js';
import type { DomainLogger } from '../ports/logging.js';
import type { RotationService } from './rotation-service.js';

export const ROTATION_WORKER_IDENTITY = 'system:rotation-worker';

export type RotationRun = Awaited<ReturnType<RotationService['run']>>;

export class RotationJob {
  constructor(
    private readonly jobs: Pick<JobRepository, 'get'>,
    private readonly rotations: Pick<RotationService, 'run'>,
    private readonly audit: AuditRecorder,
    private readonly logger: DomainLogger,
    private readonly clock: () => number = () => performance.now(),
  ) {}

  /** Runs the job; throws (for SQS to deliver it again) when its rotation or its first audit record fails. */
  async run(jobId: string): Promise<RotationRun> {
    const started = this.clock();
    const job = await this.jobs.get(jobId);
    const fields = {
      tenantId: job?.tenantId,
      path: typeof job?.payload.path === 'string' ? job.payload.path : undefined,
      identityId: ROTATION_WORKER_IDENTITY,
    };
    // Fail-closed like a request: no rotation starts unless its record is durable (SQS retries otherwise).
    if (job?.status === 'pending') await this.audit.record({ ...fields, type: 'rotation.run', outcome: 'attempted', details: { job_id: jobId } });
    const outcome = await this.rotations.run(jobId);
    if (outcome !== 'skipped') {
      const draft = { ...fields, type: 'rotation.run', outcome: outcome === 'succeeded' ? 'success' : 'failure', details: { job_id: jobId } } as const;
      await recordAfter(this.audit, draft, this.logger);
    }
    this.logger.info('rotation job', { job_id: jobId, outcome, duration_ms: Math.round(this.clock() - started) });
    return outcome;
  }
}
