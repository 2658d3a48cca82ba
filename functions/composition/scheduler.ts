import middy from '@middy/core';
import { enableNotifications } from './notifications.js';
import type { ScheduledEvent } from 'aws-lambda';
import { DynamoDbRotationSchedule } from '../adapters/dynamodb/dynamodb-rotation-schedule.js';
import { composeAudit } from './audit.js';
import { composeBackupExports } from './backup-exports.js';
import { composeHealth, readAuditChain } from './health.js';
import { composeMetricsPublishing } from './metrics-publishing.js';
import { composeCore } from './vault-core.js';
import { composeWebhooks } from './webhooks.js';
import type { VaultConfig } from '../config.js';
import { describeError } from '../domain/errors.js';
import { JOB_QUEUES } from '../domain/jobs/jobs.js';
import { SchedulerService, type SchedulerTick } from '../domain/rotation/scheduler-service.js';
import type { SignalEmitter } from '../observability/cloudwatch-signals.js';
import { flushQuietly } from '../observability/fleet-metrics.js';
import type { Logger } from '../observability/logger.js';
import type { PublishResult } from '../observability/metrics-publisher.js';
import type { StepAttributes } from '../domain/ports/tracing.js';
import { SpanStepTracer, withRunSpan } from '../observability/step-tracing.js';

export interface SchedulerRun extends SchedulerTick {
  readonly blocksSealed: number;
  readonly eventsSealed: number;
  readonly detections: number;
  readonly chainOk: boolean;
  /** Every readiness dependency answered this run's check. */
  readonly ready: boolean;
  /** This run's remote-write push; absent when none is configured. */
  readonly published?: PublishResult;
}

// No remote-write URL, no push: the step still shows, saying so.
const publishAttributes = (published: PublishResult | undefined): StepAttributes =>
  published
    ? { 'scaivault.publish.ok': published.ok, 'scaivault.publish.series': published.series, 'scaivault.publish.attempts': published.attempts }
    : { 'scaivault.publish.configured': false };

/**
 * The scheduler's CloudWatch signals: a failed push, and the seal's age and the divergence gauge on every run,
 * sealed or not (a sealer that stopped shows as a growing age; a scheduler that stopped, as missing data).
 */
const emitSchedulerSignals = async (
  signals: SignalEmitter | undefined,
  audit: Parameters<typeof readAuditChain>[0],
  published: PublishResult | undefined,
  logger: Logger,
): Promise<void> => {
  if (!signals) return;
  if (published?.ok === false) signals.emit('metricsPublishFailures');
  try {
    const chain = await readAuditChain(audit);
    signals.emit('auditChainDivergence', chain.divergence);
    if (chain.lastSealSeconds > 0) signals.emit('auditSealAge', Math.max(0, Date.now() / 1000 - chain.lastSealSeconds));
  } catch (error) {
    logger.warn('audit signals not emitted', { error: describeError(error) });
  }
};

/**
 * The `scheduler` function, every minute in AWS: due rotations, outbox re-sends, audit sealing and chain
 * verification, dependency checks, and the push of the fleet's metrics to a remote-write receiver.
 */
export const composeScheduler = (config: VaultConfig, logger: Logger) => {
  const core = composeCore(config, logger);
  enableNotifications(core, logger);
  // Detections fan out to webhook subscribers.
  composeWebhooks(core, logger);
  const audit = composeAudit(core, logger);
  const publishing = composeMetricsPublishing(core, composeHealth(core, audit), logger);
  const scheduler = new SchedulerService(new DynamoDbRotationSchedule(core.dynamodb, config.stateTable), core.jobs, {
    unsentAfterMs: config.jobResendUnsentSeconds * 1000,
    lostAfterMs: config.jobResendLostSeconds * 1000,
  });
  const steps = new SpanStepTracer();
  const exports = composeBackupExports(core, logger);
  const runOnce = async (): Promise<SchedulerRun> => {
    // Sealing does not wait on rotations, nor rotations on sealing: one failing leaves the other running.
    // The checks run beside the work and never reject: a failing dependency is their finding.
    const checking = steps.step(
      'dependency check',
      () => publishing.checkDependencies(),
      (r) => ({ 'scaivault.ready': r.ready }),
    );
    const jobsDue = steps.step(
      'jobs due',
      () => scheduler.tick(),
      (t) => ({ 'scaivault.jobs.submitted': t.rotationsSubmitted, 'scaivault.jobs.resent': t.jobsResent }),
    );
    const exporting = exports
      ? steps.step(
          'backup export',
          () => exports.tick(),
          (t) => ({ 'scaivault.backup.export': t }),
        )
      : undefined;
    const [jobs, sealed] = await Promise.allSettled([jobsDue, audit.maintenance.sealAndVerify()]);
    // A failing export step is its own finding (metrics, audit, alert): it never fails the run.
    await exporting?.catch((error: unknown) => logger.error('backup export step failed', { error: describeError(error) }));
    const readiness = await checking;
    const published = await steps.step('metrics publish', () => publishing.publish(readiness), publishAttributes);
    // Here rather than in a middleware: the embedded runtime calls `tick` on its own timer.
    // A failed push is flushed at once: the fleet store is how a scrape, or the next push, learns of it.
    await steps.step('metrics flush', () => flushQuietly(core.fleetMetrics, logger, published?.ok === false));
    await emitSchedulerSignals(core.signals, audit, published, logger);
    // Chat notifications raised during the run (divergence, dead letters) leave before Lambda freezes the process.
    await core.notifier.flush();
    if (jobs.status === 'rejected') throw jobs.reason;
    if (sealed.status === 'rejected') throw sealed.reason;
    const result: SchedulerRun = {
      ...jobs.value,
      blocksSealed: sealed.value.blocks,
      eventsSealed: sealed.value.events,
      detections: sealed.value.detections,
      chainOk: sealed.value.verify.ok,
      ready: readiness.ready,
      ...(published ? { published } : {}),
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
  // One trace per run, whether Lambda's handler or the embedded timer calls it.
  const tick = () => withRunSpan('scheduler run', runOnce, (run) => ({ 'scaivault.audit.chain_ok': run.chainOk, 'scaivault.ready': run.ready }));
  const handler = middy<ScheduledEvent, SchedulerRun>().handler(() => tick());
  // After a restart that emptied the queues (the embedded fauxqs), every pending job is re-sent.
  const resendAllPending = async (): Promise<number> => {
    let resent = 0;
    for (const queue of JOB_QUEUES) resent += await core.jobs.resendStale(queue, { unsentAfterMs: 0, lostAfterMs: 0 });
    return resent;
  };
  return { tick, handler, resendAllPending, audit };
};
