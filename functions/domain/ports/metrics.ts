// What the domain reports for metrics, and where the fleet's metrics are kept.

import type { Baseline, InstanceRecord } from '../../observability/fleet-merge.js';
import type { JobQueueName } from '../jobs/jobs.js';
import type { MetricsSnapshot } from '../../observability/metric-registry.js';

/** Business events the domain reports; functions/observability turns them into metrics. */
export interface MetricsRecorder {
  secretRead(tenantId: string, secretType: string): void;
  secretWritten(tenantId: string): void;
  /** Tokens left in a shared rate-limit bucket after a refill. */
  rateLimitLevel(category: string, subject: string, level: number): void;
}

export const NO_METRICS: MetricsRecorder = {
  secretRead: () => undefined,
  secretWritten: () => undefined,
  rateLimitLevel: () => undefined,
};

export interface AuditLogMetrics {
  auditWritten(outcome: string, eventType: string): void;
  auditWriteFailed(): void;
}

export interface AuditDetectionMetrics {
  auditDetection(kind: string): void;
}

/** The anchor family: every seal run and its time, and anchors that could not be written, by error class. */
export interface AuditSealMetrics {
  auditSealed(result: 'success' | 'failed', seconds: number): void;
  auditAnchorFailed(reason: string): void;
}

export interface RotationMetrics {
  rotationFinished(status: 'success' | 'failed'): void;
}

export interface WebhookMetrics {
  webhookDelivery(success: boolean, seconds: number): void;
  deadLettered(queue: JobQueueName): void;
}

/** How one job attempt ended: a finished job's result, or `retry` when SQS will deliver it again. */
export type JobAttemptOutcome = 'success' | 'failed' | 'partial' | 'retry';

/** The job family, for every queue alike (the batch helper and the outbox report it). */
export interface JobMetrics {
  jobQueued(queue: JobQueueName): void;
  jobAttempted(queue: JobQueueName, outcome: JobAttemptOutcome, seconds: number): void;
}

/** Persistence of the fleet's metrics: one item per instance plus a baseline. */
export interface FleetMetricsStore {
  /** First flush creates the item (or replaces our own live one); later ones succeed only while it exists and is not retired. */
  putInstance(record: InstanceRecord, first: boolean): Promise<void>;
  readFleet(): Promise<{ baseline: Baseline; instances: InstanceRecord[] }>;
  /** Marks an instance retired if it still holds `revision`; false when it moved on. */
  retireInstance(instanceId: string, revision: number): Promise<boolean>;
  /** Replaces the baseline if it is still at `expectedRevision`; false on a lost race. */
  saveBaseline(baseline: Baseline, expectedRevision: number): Promise<boolean>;
  deleteInstance(instanceId: string): Promise<void>;
}

/** The fleet's merged series as one stored item, and when the merge began. */
export interface FleetView {
  readonly builtAt: number;
  readonly metrics: MetricsSnapshot;
}

/** Where the fleet view is kept: a scrape reads one item, whatever the fleet's size. */
export interface FleetViewStore {
  readView(): Promise<FleetView | undefined>;
  /** Stores the view unless one begun later is stored; false when refused. */
  saveView(view: FleetView): Promise<boolean>;
}

/** A remote-write receiver's answer; a thrown error means none came (network, timeout). */
export interface RemoteWriteResponse {
  readonly status: number;
  /** From `Retry-After` on 429 and 503 (delta-seconds or an HTTP date). */
  readonly retryAfterSeconds?: number;
}

/** Where pushed metrics go: one Prometheus remote-write POST of an encoded body. */
export interface RemoteWriteSink {
  write(body: Uint8Array): Promise<RemoteWriteResponse>;
}
