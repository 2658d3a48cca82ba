import middy from '@middy/core';
import type { ScheduledEvent } from 'aws-lambda';
import { DynamoDbRotationSchedule } from '../adapters/dynamodb/dynamodb-rotation-schedule.js';
import { composeCore } from '../composition/vault-core.js';
import type { VaultConfig } from '../config.js';
import { SchedulerService, type SchedulerTick } from '../domain/rotation/scheduler-service.js';
import { describeError, type Logger } from '../observability/logger.js';

/** The `scheduler` function: due rotations and outbox re-sends, every minute in AWS. */
export const composeScheduler = (config: VaultConfig, logger: Logger) => {
  const core = composeCore(config, logger);
  const scheduler = new SchedulerService(new DynamoDbRotationSchedule(core.dynamodb, config.stateTable), core.jobs, {
    unsentAfterMs: config.jobResendUnsentSeconds * 1000,
    lostAfterMs: config.jobResendLostSeconds * 1000,
  });
  const tick = async (): Promise<SchedulerTick> => {
    const result = await scheduler.tick();
    if (result.rotationsSubmitted || result.jobsResent) logger.info('scheduler tick', { rotations_submitted: result.rotationsSubmitted, jobs_resent: result.jobsResent });
    await core.fleetMetrics.maybeFlush().catch((error: unknown) => logger.warn('metrics flush failed', { error: describeError(error) }));
    return result;
  };
  const handler = middy<ScheduledEvent, SchedulerTick>().handler(() => tick());
  // After a restart that emptied the queues (the embedded fauxqs), every pending job is re-sent.
  const resendAllPending = async (): Promise<number> =>
    (await core.jobs.resendStale('rotation', { unsentAfterMs: 0, lostAfterMs: 0 })) + (await core.jobs.resendStale('webhook', { unsentAfterMs: 0, lostAfterMs: 0 }));
  return { tick, handler, resendAllPending };
};
