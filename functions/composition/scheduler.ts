import middy from '@middy/core';
import { enableNotifications } from './notifications.js';
import type { ScheduledEvent } from 'aws-lambda';
import { DynamoDbRotationSchedule } from '../adapters/dynamodb/dynamodb-rotation-schedule.js';
import { composeAcmeRenewals } from './acme-renewals.js';
import type { AcmeRenewals } from '../domain/acme/acme-renewals.js';
import { DynamoDbTokenExpiryIndex } from '../adapters/dynamodb/dynamodb-token-expiry-index.js';
import { TokenExpiryWarnings } from '../domain/auth/token-expiry.js';
import { type Audit, composeAudit } from './audit.js';
import { composeBackupExports } from './backup-exports.js';
import { composeHealth, readAuditChain } from './health.js';
import { composeKeyRotation } from './key-rotation.js';
import type { KeyRotationService } from '../domain/crypto/key-rotation.js';
import type { BackupExportService } from '../domain/backups/backup-export.js';
import { composeMetricsPublishing, type MetricsPublishing } from './metrics-publishing.js';
import { composePki, type Pki } from './pki.js';
import { composeCore, type VaultCore } from './vault-core.js';
import { composeWebhooks } from './webhooks.js';
import { composeDynamic, type Dynamic } from './dynamic.js';
import type { LeaseRun } from '../domain/dynamic/lease-scheduler.js';
import type { VaultConfig } from '../config.js';
import { describeError } from '../domain/errors.js';
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
  /** Sealed items re-sealed under a new data key by this run's rotation batches. */
  readonly keysResealed: number;
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

/** The run's ACME orders, never rejecting; their counters reach the fleet store at once rather than a run later. */
const settleAcme = async (running: Promise<{ ordered: number; failed: number }>, core: VaultCore, logger: Logger): Promise<void> => {
  try {
    const run = await running;
    if (run.ordered + run.failed > 0) await flushQuietly(core.fleetMetrics, logger);
  } catch (error) {
    logger.warn('acme orders not run', { error: describeError(error) });
  }
};

/** What one scheduler run works with, composed once per container. */
interface SchedulerParts {
  readonly core: VaultCore;
  readonly logger: Logger;
  readonly steps: SpanStepTracer;
  readonly scheduler: SchedulerService;
  readonly audit: Audit;
  readonly publishing: MetricsPublishing;
  readonly acme: AcmeRenewals;
  readonly keyRotation: KeyRotationService;
  readonly pki: Pki;
  readonly dynamic: Dynamic;
  readonly expiryWarnings: TokenExpiryWarnings;
  readonly exports: BackupExportService | undefined;
}

/**
 * One run of the scheduler. Sealing does not wait on rotations, nor rotations on sealing: one failing
 * leaves the other running. The checks run beside the work and never reject: a failing dependency is
 * their finding. Leases, PKI upkeep, token warnings, backups and ACME orders are logged when they fail,
 * never the run's failure.
 */
class SchedulerRunner {
  constructor(private readonly parts: SchedulerParts) {}

  async run(): Promise<SchedulerRun> {
    const { core, steps, publishing, audit, acme, logger } = this.parts;
    const checking = steps.step(
      'dependency check',
      () => publishing.checkDependencies(),
      (r) => ({ 'scaivault.ready': r.ready }),
    );
    // ACME orders run beside the rest and never hold up the push: an order waits on a CA, and a failed one is recorded, never thrown.
    const acmeDue = settleAcme(
      steps.step(
        'acme orders',
        () => acme.runDue(),
        (r) => ({ 'scaivault.acme.ordered': r.ordered, 'scaivault.acme.failed': r.failed }),
      ),
      core,
      logger,
    );
    const side = this.sideWork();
    const [jobs, sealed, rotated] = await this.mainWork();
    const leaseRun = await side;
    const readiness = await checking;
    const published = await this.publishMetrics(readiness);
    await emitSchedulerSignals(core.signals, audit, published, logger);
    await acmeDue;
    // Chat notifications raised during the run (divergence, dead letters) leave before Lambda freezes the process.
    await core.notifier.flush();
    if (jobs.status === 'rejected') throw jobs.reason;
    if (sealed.status === 'rejected') throw sealed.reason;
    if (rotated.status === 'rejected') throw rotated.reason;
    const result: SchedulerRun = {
      ...jobs.value,
      blocksSealed: sealed.value.blocks,
      eventsSealed: sealed.value.events,
      detections: sealed.value.detections,
      chainOk: sealed.value.verify.ok,
      ready: readiness.ready,
      keysResealed: rotated.value.resealed,
      ...(published ? { published } : {}),
    };
    this.logRun(result, leaseRun);
    return result;
  }

  /** Work a run fails with: due rotations and outbox re-sends, sealing and verifying the chain, data-key rotation. */
  private mainWork() {
    const { steps, scheduler, audit, keyRotation, core } = this.parts;
    return Promise.allSettled([
      steps.step(
        'jobs due',
        () => scheduler.tick(),
        (t) => ({ 'scaivault.jobs.submitted': t.rotationsSubmitted, 'scaivault.jobs.resent': t.jobsResent }),
      ),
      audit.maintenance.sealAndVerify(),
      steps.step(
        'key rotation',
        () => keyRotation.tick(core.config.keyRotation.secondsPerRun * 1000),
        (k) => ({ 'scaivault.keys.batches': k.batches, 'scaivault.keys.resealed': k.resealed, 'scaivault.keys.finished': k.finished }),
      ),
    ] as const);
  }

  /** Work whose failure is only logged: leases, PKI upkeep, token expiry warnings and the backup export. Resolves to the lease run. */
  private async sideWork(): Promise<LeaseRun | undefined> {
    const { steps, pki, expiryWarnings, exports } = this.parts;
    const [leases] = await Promise.all([
      this.leasesDue(),
      steps
        .step(
          'pki maintenance',
          () => pki.maintenance.run(),
          (r) => ({ 'scaivault.pki.crls_rebuilt': r.crlsRebuilt, 'scaivault.pki.expiring_notified': r.expiringNotified, 'scaivault.pki.tidied': r.tidied }),
        )
        .catch(this.logged('pki maintenance failed')),
      steps
        .step(
          'token expiry',
          () => expiryWarnings.warn(),
          (warned) => ({ 'scaivault.tokens.warned': warned }),
        )
        .catch(this.logged('token expiry warnings failed; the next run tries again')),
      // A failing export step is its own finding (metrics, audit, alert): it never fails the run.
      exports
        ? steps
            .step(
              'backup export',
              () => exports.tick(),
              (t) => ({ 'scaivault.backup.export': t }),
            )
            .catch(this.logged('backup export step failed', 'error'))
        : undefined,
    ]);
    return leases;
  }

  /** Engines probed and due leases revoked. */
  private leasesDue(): Promise<LeaseRun | undefined> {
    const { steps, dynamic } = this.parts;
    return steps
      .step(
        'leases due',
        async () => {
          const run = await dynamic.leaseScheduler.run();
          // Every run, so a CloudWatch alarm sees an engine stay down.
          if (run.enginesProbed > 0) dynamic.leaseMetrics.enginesProbed(run.enginesDown);
          return run;
        },
        (r) => ({ 'scaivault.leases.revoked': r.revoked, 'scaivault.leases.failed': r.failed, 'scaivault.engines.down': r.enginesDown }),
      )
      .catch(this.logged('lease revocation run failed'));
  }

  /** The push of the fleet's metrics, then the flush that tells the fleet store how it went. */
  private async publishMetrics(readiness: Parameters<MetricsPublishing['publish']>[0]): Promise<PublishResult | undefined> {
    const { steps, publishing, core, logger } = this.parts;
    const published = await steps.step('metrics publish', () => publishing.publish(readiness), publishAttributes);
    // Here rather than in a middleware: the embedded runtime calls `tick` on its own timer.
    // A failed push is flushed at once: the fleet store is how a scrape, or the next push, learns of it.
    await steps.step('metrics flush', () => flushQuietly(core.fleetMetrics, logger, published?.ok === false));
    return published;
  }

  private logged(message: string, level: 'warn' | 'error' = 'warn') {
    return (error: unknown): undefined => {
      this.parts.logger[level](message, { error: describeError(error) });
      return undefined;
    };
  }

  private logRun(result: SchedulerRun, leaseRun: LeaseRun | undefined): void {
    const { logger } = this.parts;
    if (leaseRun && (leaseRun.revoked || leaseRun.failed)) {
      logger.info('leases revoked', { leases_revoked: leaseRun.revoked, lease_revocations_failed: leaseRun.failed, engines_down: leaseRun.enginesDown });
    }
    if (result.rotationsSubmitted || result.jobsResent || result.eventsSealed || result.detections) {
      logger.info('scheduler tick', {
        rotations_submitted: result.rotationsSubmitted,
        jobs_resent: result.jobsResent,
        audit_blocks_sealed: result.blocksSealed,
        audit_events_sealed: result.eventsSealed,
        audit_detections: result.detections,
      });
    }
  }
}

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
  const runner = new SchedulerRunner({
    core,
    logger,
    steps: new SpanStepTracer(),
    scheduler: new SchedulerService(new DynamoDbRotationSchedule(core.dynamodb, config.stateTable), core.jobs, {
      unsentAfterMs: config.jobResendUnsentSeconds * 1000,
      lostAfterMs: config.jobResendLostSeconds * 1000,
    }),
    audit,
    publishing: composeMetricsPublishing(core, composeHealth(core, audit), logger),
    acme: composeAcmeRenewals(core, audit.log, logger),
    keyRotation: composeKeyRotation(core, audit.log, logger),
    pki: composePki(core, logger),
    dynamic: composeDynamic(core, logger),
    expiryWarnings: new TokenExpiryWarnings(new DynamoDbTokenExpiryIndex(core.dynamodb, config.stateTable), core.events, logger),
    exports: composeBackupExports(core, logger),
  });
  // One trace per run, whether Lambda's handler or the embedded timer calls it.
  const tick = () =>
    withRunSpan(
      'scheduler run',
      () => runner.run(),
      (run) => ({ 'scaivault.audit.chain_ok': run.chainOk, 'scaivault.ready': run.ready }),
    );
  const handler = middy<ScheduledEvent, SchedulerRun>().handler(() => tick());
  // After a restart that emptied the queues (the embedded fauxqs), every pending job is re-sent.
  const resendAllPending = (): Promise<number> => core.jobs.resendStale({ unsentAfterMs: 0, lostAfterMs: 0 });
  return { tick, handler, resendAllPending, audit };
};
