import type { JobQueueName } from '../domain/jobs/jobs.js';
import type { SignalEmitter } from './cloudwatch-signals.js';
import { auditEventTypeLabel, METRICS } from './metric-catalogue.js';
import type { MetricRegistry } from './metric-registry.js';
import { RequestWindow } from './request-window.js';
import type { AuditSealMetrics, JobAttemptOutcome, JobMetrics, MetricsRecorder } from '../domain/ports/metrics.js';
import type { OperationalAlerts } from '../domain/ports/notifications.js';

/**
 * Records each series where its event happens; the one writer of the registry.
 * The events that must page also go to CloudWatch, when `signals` is given.
 */
export class VaultMetrics implements MetricsRecorder, JobMetrics, AuditSealMetrics {
  /** This instance's requests over the last 5 minutes, for `/v1/admin/status`. */
  readonly recentRequests = new RequestWindow(300);
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
    this.recentRequests.record(status, seconds);
  }

  keyProviderCall(operation: 'encrypt' | 'decrypt' | 'sign', seconds: number, failed: boolean): void {
    this.registry.observe(METRICS.kmsLatency, [operation], seconds);
    if (!failed) return;
    this.registry.inc(METRICS.kmsErrors, [operation]);
    this.signals?.emit('kmsErrors');
  }

  /** An ACME order finished: `valid` (certificate downloaded) or `failed`. */
  acmeOrderFinished(provider: string, status: 'valid' | 'failed', seconds: number): void {
    this.registry.inc(METRICS.acmeOrders, [provider, status]);
    this.registry.observe(METRICS.acmeOrderDuration, [provider], seconds);
  }

  /** A wrap (a new data key) or an unwrap by the key provider, by outcome (`success`, `failed`). */
  keyWrapCall(operation: 'wrap' | 'unwrap', provider: string, failed: boolean): void {
    this.registry.inc(operation === 'wrap' ? METRICS.keyWraps : METRICS.keyUnwraps, [provider, failed ? 'failed' : 'success']);
  }

  certificateIssued(caId: string, issuerType: string): void {
    this.registry.inc(METRICS.certificatesIssued, [caId, issuerType]);
  }

  certificateRevoked(caId: string): void {
    this.registry.inc(METRICS.certificatesRevoked, [caId]);
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

  auditWritten(outcome: string, eventType: string): void {
    this.registry.inc(METRICS.auditEvents, [auditEventTypeLabel(eventType), outcome]);
  }

  auditSealed(result: 'success' | 'failed', seconds: number): void {
    this.registry.inc(METRICS.auditSeals, [result]);
    this.registry.observe(METRICS.auditSealDuration, [], seconds);
  }

  auditAnchorFailed(reason: string): void {
    this.registry.inc(METRICS.auditAnchorFailures, [reason]);
    this.signals?.emit('auditAnchorFailures');
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

  jobQueued(queue: JobQueueName): void {
    this.registry.inc(METRICS.jobsQueued, [queue]);
  }

  jobAttempted(queue: JobQueueName, outcome: JobAttemptOutcome, seconds: number): void {
    this.registry.observe(METRICS.jobsDuration, [queue], seconds);
    if (outcome === 'retry') this.registry.inc(METRICS.jobsRetry, [queue]);
    else this.registry.inc(METRICS.jobsCompleted, [queue, outcome]);
  }
}
