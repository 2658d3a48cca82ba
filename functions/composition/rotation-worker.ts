import middy from '@middy/core';
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { DynamoDbRotationRepository } from '../adapters/dynamodb/dynamodb-rotation-repository.js';
import { composeCore } from './vault-core.js';
import { composeWebhooks } from './webhooks.js';
import { composeAuditTrail, recordAfter } from './audit.js';
import type { VaultConfig } from '../config.js';
import { createRotators } from './rotators.js';
import { RotationService } from '../domain/rotation/rotation-service.js';
import { ROTATION_QUEUE } from '../runtime/definitions.js';
import { describeError, type Logger } from '../observability/logger.js';
import { processJobBatch } from '../workers/sqs-job-batch.js';

export interface RotationWorker {
  readonly rotations: RotationService;
  readonly handler: (event: SQSEvent, context: Context) => Promise<SQSBatchResponse>;
}

/** The `rotation-worker` function: rotation jobs from the rotation queue. */
export const composeRotationWorker = (config: VaultConfig, logger: Logger): RotationWorker => {
  const core = composeCore(config, logger);
  // secret.rotated and rotation.failed fan out to webhook subscribers from here too.
  composeWebhooks(core, logger);
  const audit = composeAuditTrail(core, logger);
  const rotations = new RotationService(
    core.jobRepository,
    core.secretRepository,
    new DynamoDbRotationRepository(core.dynamodb, config.stateTable),
    core.keys,
    createRotators(),
    core.metrics,
    core.events,
  );
  const handler = middy<SQSEvent, SQSBatchResponse>().handler(async (event) => {
    const response = await processJobBatch(event, {
      queue: 'rotation',
      maxReceiveCount: ROTATION_QUEUE.maxReceiveCount,
      logger,
      run: async (jobId) => {
        const started = performance.now();
        const job = await core.jobRepository.get(jobId);
        const fields = { tenantId: job?.tenantId, path: typeof job?.payload.path === 'string' ? job.payload.path : undefined, identityId: 'system:rotation-worker' };
        // Fail-closed like a request: no rotation starts unless its record is durable (SQS retries otherwise).
        if (job?.status === 'pending') await audit.log.record({ ...fields, type: 'rotation.run', outcome: 'attempted', details: { job_id: jobId } });
        const outcome = await rotations.run(jobId);
        if (outcome !== 'skipped') await recordAfter(audit, { ...fields, type: 'rotation.run', outcome: outcome === 'succeeded' ? 'success' : 'failure', details: { job_id: jobId } }, logger);
        logger.info('rotation job', { job_id: jobId, outcome, duration_ms: Math.round(performance.now() - started) });
      },
      onLastAttempt: async (jobId, error) => {
        core.metrics.deadLettered('rotation');
        await rotations.giveUp(jobId, `gave up after ${ROTATION_QUEUE.maxReceiveCount} attempts: ${describeError(error)}`);
      },
    });
    await core.fleetMetrics.maybeFlush().catch((error: unknown) => logger.warn('metrics flush failed', { error: describeError(error) }));
    return response;
  });
  return { rotations, handler };
};
