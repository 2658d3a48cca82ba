// One audit export job as the audit-export worker runs it: the export, the
// job's outcome and the audit event that says it happened.
import type { JobRepository } from '../ports/jobs.js';
import type { DomainLogger } from '../ports/logging.js';
import type { AuditExporter, ExportRequest } from './audit-export.js';
import { recordAfter, type AuditRecorder } from './audit-maintenance.js';

export const AUDIT_EXPORT_IDENTITY = 'system:audit-export';

export class AuditExportJob {
  constructor(
    private readonly jobs: Pick<JobRepository, 'get' | 'finish'>,
    private readonly exporter: Pick<AuditExporter, 'run'>,
    private readonly audit: AuditRecorder,
    private readonly logger: DomainLogger,
    private readonly clock: () => number = () => performance.now(),
  ) {}

  /**
   * Exports what a pending job asks for; anything else (unknown, finished, another kind) is left alone (`skipped`).
   * `partial`: exported, but the audit event saying so was lost.
   */
  async run(jobId: string): Promise<'done' | 'partial' | 'skipped'> {
    const job = await this.jobs.get(jobId);
    if (job?.status !== 'pending' || job.kind !== 'audit-export') return 'skipped';
    const request = job.payload as unknown as ExportRequest;
    const started = this.clock();
    const manifest = await this.exporter.run(jobId, request);
    await this.jobs.finish(jobId, 'succeeded', `exported ${manifest.count} events`);
    const details = { export_id: jobId, events: manifest.count, sha256: manifest.sha256 };
    const recorded = await recordAfter(
      this.audit,
      { type: 'audit.exported', outcome: 'success', identityId: AUDIT_EXPORT_IDENTITY, tenantId: job.tenantId, details },
      this.logger,
    );
    this.logger.info('audit export', { job_id: jobId, events: manifest.count, bytes: manifest.bytes, duration_ms: Math.round(this.clock() - started) });
    return recorded ? 'done' : 'partial';
  }

  /** The job's last attempt failed: it is marked failed, and the audit trail says so. */
  async giveUp(jobId: string, reason: string): Promise<void> {
    await this.jobs.finish(jobId, 'failed', reason);
    await recordAfter(this.audit, { type: 'audit.exported', outcome: 'error', identityId: AUDIT_EXPORT_IDENTITY, details: { export_id: jobId } }, this.logger);
  }
}
