import middy from '@middy/core';
import type { ScheduledEvent } from 'aws-lambda';
import { DynamoDbRotationSchedule } from '../adapters/dynamodb/dynamodb-rotation-schedule.js';
import { composeAudit } from './audit.js';
import { composeCore } from './vault-core.js';
import { composeWebhooks } from './webhooks.js';
import type { VaultConfig } from '../config.js';
import { JOB_QUEUES } from '../domain/jobs/jobs.js';
import { SchedulerService, type SchedulerTick } from '../domain/rotation/scheduler-service.js';
import { flushQuietly } from '../observability/fleet-metrics.js';
import type { Logger } from '../observability/logger.js';
import { invocationTracing } from '../workers/worker-middlewares.js';

export interface SchedulerRun extends SchedulerTick {
  readonly blocksSealed: number;
  readonly eventsSealed: number;
  readonly detections: number;
  readonly chainOk: boolean;
}

/** The `scheduler` function, every minute in AWS: due rotations, outbox re-sends, audit sealing and chain verification. */
export const composeScheduler = (config: VaultConfig, logger: Logger) => {
  const core = composeCore(config, logger);
  // Detections fan out to webhook subscribers.
  composeWebhooks(core, logger);
  const audit = composeAudit(core, logger);
  const scheduler = new SchedulerService(new DynamoDbRotationSchedule(core.dynamodb, config.stateTable), core.jobs, {
    unsentAfterMs: config.jobResendUnsentSeconds * 1000,
    lostAfterMs: config.jobResendLostSeconds * 1000,
  });
  const tick = async (): Promise<SchedulerRun> => {
    // Sealing does not wait on rotations, nor rotations on sealing: one failing leaves the other running.
    const [jobs, sealed] = await Promise.allSettled([scheduler.tick(), audit.maintenance.sealAndVerify()]);
    // Here rather than in a middleware: the embedded runtime calls `tick` on its own timer.
    await flushQuietly(core.fleetMetrics, logger);
    if (jobs.status === 'rejected') throw jobs.reason;
    if (sealed.status === 'rejected') throw sealed.reason;
    const result: SchedulerRun = {
      ...jobs.value,
      blocksSealed: sealed.value.blocks,
      eventsSealed: sealed.value.events,
      detections: sealed.value.detections,
      chainOk: sealed.value.verify.ok,
    };
    if (result.rotationsSubmitted || result.jobsResent || result.eventsSealed || result.detections) {
      logger.info('scheduler tick', {
        rotations_submitted: result.rotationsSubmitted,
        jobs_resent: result.jobsResent,
        audit_blocks_sealed: result.blocksSealed,
        audit_events_sealed: result.eventsSealed,
        audit_detections: result.detections,
      });
    }
    return result;
  };
  const handler = middy<ScheduledEvent, SchedulerRun>()
    .use(invocationTracing())
    .handler(() => tick());
  // After a restart that emptied the queues (the embedded fauxqs), every pending job is re-sent.
  const resendAllPending = async (): Promise<number> => {
    let resent = 0;
    for (const queue of JOB_QUEUES) resent += await core.jobs.resendStale(queue, { unsentAfterMs: 0, lostAfterMs: 0 });
    return resent;
  };
  return { tick, handler, resendAllPending, audit };
};
