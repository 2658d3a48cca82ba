import middy from '@middy/core';
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { AUDIT_EXPORT_QUEUE } from '../runtime/definitions.js';
import { composeAudit, recordAfter } from './audit.js';
import { composeCore } from './vault-core.js';
import type { VaultConfig } from '../config.js';
import type { ExportRequest } from '../domain/audit/audit-export.js';
import { describeError, type Logger } from '../observability/logger.js';
import { processJobBatch } from '../workers/sqs-job-batch.js';

const IDENTITY = 'system:audit-export';

/** The `audit-export` function: one export job per message, streamed to S3. */
export const composeAuditExport = (config: VaultConfig, logger: Logger) => {
  const core = composeCore(config, logger);
  const audit = composeAudit(core, logger);

  const run = async (jobId: string): Promise<void> => {
    const job = await core.jobRepository.get(jobId);
    if (!job || job.status !== 'pending' || job.kind !== 'audit-export') return;
    const request = job.payload as unknown as ExportRequest;
    const started = performance.now();
    const manifest = await audit.exporter.run(jobId, request);
    await core.jobRepository.finish(jobId, 'succeeded', `exported ${manifest.count} events`);
    await recordAfter(
      audit,
      { type: 'audit.exported', outcome: 'success', identityId: IDENTITY, tenantId: job.tenantId, details: { export_id: jobId, events: manifest.count, sha256: manifest.sha256 } },
      logger,
    );
    logger.info('audit export', { job_id: jobId, events: manifest.count, bytes: manifest.bytes, duration_ms: Math.round(performance.now() - started) });
  };

  const handler = middy<SQSEvent, SQSBatchResponse>().handler(async (event) => {
    const response = await processJobBatch(event, {
      queue: 'audit-export',
      maxReceiveCount: AUDIT_EXPORT_QUEUE.maxReceiveCount,
      logger,
      run,
      onLastAttempt: async (jobId, error) => {
        core.metrics.deadLettered('audit-export');
        await core.jobRepository.finish(jobId, 'failed', `gave up after ${AUDIT_EXPORT_QUEUE.maxReceiveCount} attempts: ${describeError(error)}`);
        await recordAfter(audit, { type: 'audit.exported', outcome: 'error', identityId: IDENTITY, details: { export_id: jobId } }, logger);
      },
    });
    await core.fleetMetrics.maybeFlush().catch((error: unknown) => logger.warn('metrics flush failed', { error: describeError(error) }));
    return response;
  });
  return { handler, run };
};
