import type { VaultConfig } from '../config.js';
import { enableNotifications } from './notifications.js';
import { AuditExportJob } from '../domain/audit/audit-export-job.js';
import { describeError, type Logger } from '../observability/logger.js';
import { AUDIT_EXPORT_QUEUE } from '../runtime/definitions.js';
import { jobWorker } from '../workers/worker-middlewares.js';
import { composeAudit } from './audit.js';
import { composeCore } from './vault-core.js';

/** The `audit-export` function: one export job per message, streamed to S3. */
export const composeAuditExport = (config: VaultConfig, logger: Logger) => {
  const core = composeCore(config, logger);
  enableNotifications(core, logger);
  const audit = composeAudit(core, logger);
  const exports = new AuditExportJob(core.jobRepository, audit.exporter, audit.log, logger);
  const run = (jobId: string) => exports.run(jobId);
  const { maxReceiveCount } = AUDIT_EXPORT_QUEUE;
  const handler = jobWorker(core.fleetMetrics, logger, () => ({
    queue: 'audit-export',
    maxReceiveCount,
    logger,
    metrics: core.metrics,
    run,
    onLastAttempt: async (jobId, error) => {
      core.metrics.deadLettered('audit-export');
      await exports.giveUp(jobId, `gave up after ${maxReceiveCount} attempts: ${describeError(error)}`);
    },
  }));
  return { handler, run };
};
