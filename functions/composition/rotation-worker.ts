import { DynamoDbRotationRepository } from '../adapters/dynamodb/dynamodb-rotation-repository.js';
import { enableNotifications } from './notifications.js';
import type { VaultConfig } from '../config.js';
import { RotationJob } from '../domain/rotation/rotation-job.js';
import { RotationService } from '../domain/rotation/rotation-service.js';
import { describeError, type Logger } from '../observability/logger.js';
import { ROTATION_QUEUE } from '../runtime/definitions.js';
import { jobWorker, type JobWorkerHandler } from '../workers/worker-middlewares.js';
import { composeAuditTrail } from './audit-trail.js';
import { rotatorsFor } from './rotators.js';
import { composeCore } from './vault-core.js';
import { composeWebhooks } from './webhooks.js';

const RUN_RESULTS = { succeeded: 'done', failed: 'failed', skipped: 'skipped' } as const;

export interface RotationWorker {
  readonly rotations: RotationService;
  readonly handler: JobWorkerHandler;
}

/** The `rotation-worker` function: rotation jobs from the rotation queue. */
export const composeRotationWorker = (config: VaultConfig, logger: Logger): RotationWorker => {
  const core = composeCore(config, logger);
  enableNotifications(core, logger);
  // secret.rotated and rotation.failed fan out to webhook subscribers from here too.
  composeWebhooks(core, logger);
  const audit = composeAuditTrail(core, logger);
  const rotations = new RotationService(
    core.jobRepository,
    core.secretRepository,
    new DynamoDbRotationRepository(core.dynamodb, config.stateTable),
    core.keys,
    rotatorsFor(config),
    core.metrics,
    core.events,
  );
  const job = new RotationJob(core.jobRepository, rotations, audit.log, logger);
  const { maxReceiveCount } = ROTATION_QUEUE;
  const handler = jobWorker(core.fleetMetrics, logger, () => ({
    queue: 'rotation',
    maxReceiveCount,
    logger,
    metrics: core.metrics,
    run: async (jobId) => RUN_RESULTS[await job.run(jobId)],
    onLastAttempt: async (jobId, error) => {
      core.metrics.deadLettered('rotation');
      await rotations.giveUp(jobId, `gave up after ${maxReceiveCount} attempts: ${describeError(error)}`);
    },
  }));
  return { rotations, handler };
};
