import type { JobQueueName } from '../domain/jobs/jobs.js';
import type { SignalEmitter } from './cloudwatch-signals.js';
import { METRICS } from './metric-catalogue.js';
import type { MetricRegistry } from './metric-registry.js';
import type { MetricsRecorder } from '../domain/ports/metrics.js';
import type { OperationalAlerts } from '../domain/ports/notifications.js';

/**
 * Records each series where its event happens; the one writer of the registry.
 * The events that must page also go to CloudWatch, when `signals` is given.
 */
export class VaultMetrics implements MetricsRecorder {
  /** Where events that must reach a human go besides CloudWatch (chat); set once the notifier is composed. */
  alerts: OperationalAlerts | undefined;

  constructor(
    readonly registry: MetricRegistry,
    private readonly signals?: SignalEmitter,
  ) {}

  secretRead(tenantId: string, secretType: string): void {
    this.registry.inc(METRICS.secretReads, [tenantId, secretType]);
  }

  secretWritten(tenantId: string): void {
    this.registry.inc(METRICS.secretWrites, [tenantId]);
  }

  rateLimitLevel(category: string, subject: string, level: number): void {
    this.registry.set(METRICS.rateLimitBucketFill, [category, subject], Math.floor(level));
  }

  rateLimited(category: string): void {
    this.registry.inc(METRICS.rateLimitHits, [category]);
  }

  keyCacheLookup(hit: boolean): void {
    this.registry.inc(hit ? METRICS.keyCacheHits : METRICS.keyCacheMisses);
  }

  requestStarted(pathCategory: string): void {
    this.registry.inc(METRICS.activeRequests, [pathCategory]);
  }

  requestFinished(method: string, pathCategory: string, status: number, seconds: number, started: boolean): void {
    if (started) this.registry.inc(METRICS.activeRequests, [pathCategory], -1);
    this.registry.inc(METRICS.requests, [method, pathCategory, String(status)]);
    this.registry.observe(METRICS.requestDuration, [method, pathCategory], seconds);
  }

  keyProviderCall(operation: 'encrypt' | 'decrypt', seconds: number, failed: boolean): void {
    this.registry.observe(METRICS.kmsLatency, [operation], seconds);
    if (!failed) return;
    this.registry.inc(METRICS.kmsErrors, [operation]);
    this.signals?.emit('kmsErrors');
  }

  rotationFinished(status: 'success' | 'failed'): void {
    this.registry.inc(METRICS.secretRotations, [status]);
    if (status === 'failed') this.signals?.emit('rotationsFailed');
  }

  deadLettered(queue: JobQueueName): void {
    this.registry.inc(METRICS.jobsDeadLetter, [queue]);
    this.signals?.emit('jobsDeadLettered');
    this.alerts?.alert({
      event: 'job.dead_lettered',
      summary: `a ${queue} job failed its last attempt and was dead-lettered`,
      severity: 'critical',
      at: Date.now(),
    });
  }

  auditWritten(outcome: string): void {
    this.registry.inc(METRICS.auditEvents, [outcome]);
  }

  auditWriteFailed(): void {
    this.registry.inc(METRICS.auditWriteFailures);
    this.signals?.emit('auditWriteFailures');
  }

  auditDetection(kind: string): void {
    this.registry.inc(METRICS.auditDetections, [kind]);
    this.signals?.emit('auditDetections');
  }

  auditSyslogDropped(count: number): void {
    this.registry.inc(METRICS.auditSyslogDropped, [], count);
  }

  webhookDelivery(success: boolean, seconds: number): void {
    this.registry.inc(METRICS.webhookDeliveries, [success ? 'success' : 'failed']);
    this.registry.observe(METRICS.webhookDeliveryDuration, [], seconds);
  }

  backupFinished(ok: boolean, seconds: number, bytes: number, finishedAtSeconds: number): void {
    this.registry.inc(METRICS.dbBackups);
    this.registry.observe(METRICS.dbBackupDuration, [], seconds);
    if (!ok) {
      this.registry.inc(METRICS.dbBackupsFailed);
      return;
    }
    this.registry.observe(METRICS.dbBackupSize, [], bytes);
    this.registry.set(METRICS.dbBackupLastSuccess, [], finishedAtSeconds);
  }

  drillFinished(checks: Readonly<Record<string, boolean | undefined>>, ok: boolean, finishedAtSeconds: number): void {
    for (const [check, passed] of Object.entries(checks)) if (passed !== undefined) this.registry.set(METRICS.restoreDrillCheck, [check], passed ? 1 : 0);
    this.registry.inc(METRICS.restoreDrills, [ok ? 'success' : 'failed']);
    if (ok) this.registry.set(METRICS.restoreDrillLastSuccess, [], finishedAtSeconds);
  }

  notificationDelivery(channel: string, status: string): void {
    this.registry.inc(METRICS.notificationDeliveries, [channel, status]);
  }

  dynamoDbCall(seconds: number): void {
    this.registry.observe(METRICS.dbLatency, [], seconds);
  }
}
