// Every series ScaiVault exports, defined once: name, type, help and labels
// exactly as the operator contract in docs/observability.md names them.
// Everything else (recording, merging, exposition) reads this.

import { JOB_QUEUES } from '../domain/jobs/jobs.js';

export type MetricType = 'counter' | 'gauge' | 'histogram';

/**
 * Where a series' value comes from:
 * - `fleet`: recorded in each instance, flushed to the fleet store and summed
 *   (counters and histograms never go backwards);
 * - `live`: a per-instance gauge summed over instances seen recently;
 * - `latest`: a gauge whose newest observation anywhere in the fleet wins;
 * - `state`: read from the source of truth at scrape time.
 */
export type MetricSource = 'fleet' | 'live' | 'latest' | 'state';

export interface MetricDefinition {
  readonly name: string;
  readonly type: MetricType;
  readonly help: string;
  readonly labels: readonly string[];
  readonly source: MetricSource;
  /** A histogram's upper bounds, when not DURATION_BUCKETS (sizes, long jobs). */
  readonly buckets?: readonly number[];
}

/** Upper bounds in seconds: 1 ms to 10 s. */
export const DURATION_BUCKETS: readonly number[] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** Upper bounds in seconds for jobs of minutes: 1 s to 2 h. */
export const JOB_DURATION_BUCKETS: readonly number[] = [1, 5, 15, 30, 60, 120, 300, 600, 1200, 3600, 7200];
/** Upper bounds in bytes: 64 KiB to 64 GiB. */
export const SIZE_BUCKETS: readonly number[] = [2 ** 16, 2 ** 20, 2 ** 24, 2 ** 26, 2 ** 28, 2 ** 30, 2 ** 32, 2 ** 34, 2 ** 36];
/** A histogram's upper bounds. */
export const bucketsOf = (definition: MetricDefinition): readonly number[] => definition.buckets ?? DURATION_BUCKETS;

/** Labels whose values come from users (identities, tenants): capped to the top N plus `other`. */
export const CAPPED_LABELS: ReadonlySet<string> = new Set(['identity', 'tenant', 'provider']);
export const OTHER_LABEL_VALUE = 'other';

/** Thresholds of `scaivault_certificates_expiring_soon{within_days}`. */
export const EXPIRY_WINDOWS_DAYS: readonly number[] = [7, 14, 30, 90];

const metric = (name: string, type: MetricType, source: MetricSource, labels: readonly string[], help: string): MetricDefinition => ({
  name,
  type,
  help,
  labels,
  source,
});

export const METRICS = {
  requests: metric(
    'scaivault_requests_total',
    'counter',
    'fleet',
    ['method', 'path_category', 'status'],
    'HTTP requests answered, by method, route category and status code.',
  ),
  requestDuration: metric(
    'scaivault_request_duration_seconds',
    'histogram',
    'fleet',
    ['method', 'path_category'],
    'Time to answer an HTTP request, in seconds.',
  ),
  activeRequests: metric('scaivault_active_requests', 'gauge', 'live', ['path_category'], 'HTTP requests in flight across the fleet.'),
  rateLimitHits: metric('scaivault_rate_limit_hits_total', 'counter', 'fleet', ['category'], 'Requests refused with 429, by rate-limit category.'),
  rateLimitBucketFill: metric(
    'scaivault_rate_limit_bucket_fill',
    'gauge',
    'latest',
    ['category', 'identity'],
    'Tokens left in a shared rate-limit bucket when last seen.',
  ),
  secrets: metric('scaivault_secrets_total', 'gauge', 'state', ['tenant'], 'Live (not deleted) secrets per tenant.'),
  secretReads: metric('scaivault_secret_reads_total', 'counter', 'fleet', ['tenant', 'secret_type'], 'Secret values read.'),
  secretWrites: metric('scaivault_secret_writes_total', 'counter', 'fleet', ['tenant'], 'Secret versions written.'),
  secretRotations: metric('scaivault_secret_rotations_total', 'counter', 'fleet', ['status'], 'Secret rotations finished, by outcome (success or failed).'),
  certificatesActive: metric('scaivault_certificates_active', 'gauge', 'state', ['ca_id'], 'Issued certificates not yet expired or revoked, per CA.'),
  certificatesExpiringSoon: metric(
    'scaivault_certificates_expiring_soon',
    'gauge',
    'state',
    ['within_days'],
    'Active certificates expiring within the given number of days.',
  ),
  caExpiry: metric('scaivault_ca_expiry_timestamp_seconds', 'gauge', 'state', ['ca_id'], "A CA certificate's not-after, as Unix seconds."),
  certificatesIssued: metric(
    'scaivault_certificates_issued_total',
    'counter',
    'fleet',
    ['ca_id', 'issuer_type'],
    'Certificates issued, per CA and issuer type (internal or acme).',
  ),
  certificatesRevoked: metric('scaivault_certificates_revoked_total', 'counter', 'fleet', ['ca_id'], 'Certificates revoked, per CA.'),
  crlLastUpdate: metric(
    'scaivault_crl_last_update_timestamp_seconds',
    'gauge',
    'state',
    ['ca_id'],
    "When a CA's current CRL was signed (thisUpdate), as Unix seconds.",
  ),
  certificateExpiry: metric(
    'scaivault_certificate_expiry_timestamp_seconds',
    'gauge',
    'state',
    ['ca_id', 'serial', 'common_name'],
    "Not-after of the 100 soonest-expiring active certificates within 30 days, as Unix seconds (the dashboard's table).",
  ),
  acmeOrders: metric('scaivault_acme_orders_total', 'counter', 'fleet', ['provider', 'status'], 'ACME orders finished, by provider and outcome.'),
  acmeOrderDuration: metric(
    'scaivault_acme_order_duration_seconds',
    'histogram',
    'fleet',
    ['provider'],
    'Time an ACME order took from new-order to the downloaded certificate (or its failure), in seconds.',
  ),
  leasesActive: metric('scaivault_leases_active', 'gauge', 'state', ['engine'], 'Dynamic-secret leases not yet expired or revoked, per engine.'),
  leasesGenerated: metric('scaivault_leases_generated_total', 'counter', 'fleet', ['engine', 'role'], 'Dynamic-secret leases generated.'),
  engineHealth: metric('scaivault_engine_health', 'gauge', 'state', ['engine'], 'Whether a dynamic-secret engine is reachable (1) or not (0).'),
  leasesIrrevocable: metric(
    'scaivault_leases_irrevocable',
    'gauge',
    'state',
    ['engine'],
    'Leases whose revocation failed its last attempt: their credentials may still exist in the database.',
  ),
  leaseRevocations: metric(
    'scaivault_lease_revocations_total',
    'counter',
    'fleet',
    ['engine', 'status'],
    'Lease revocation attempts, by outcome (success, failed: retried later, irrevocable: the last attempt failed).',
  ),
  leaseOldestAge: metric(
    'scaivault_lease_oldest_age_seconds',
    'gauge',
    'state',
    ['engine'],
    'Age of the oldest lease not yet revoked (irrevocable ones aside), in seconds (0 when none).',
  ),
  externalRequestDuration: metric(
    'scaivault_external_request_duration_seconds',
    'histogram',
    'fleet',
    ['provider', 'operation', 'status'],
    'Calls to external systems the vault administers (databases of dynamic secrets), in seconds, by outcome.',
  ),
  dbLatency: metric(
    'scaivault_db_latency_seconds',
    'histogram',
    'fleet',
    [],
    'DynamoDB call latency, in seconds (state, rate-limit and metrics stores alike).',
  ),
  kmsLatency: metric(
    'scaivault_kms_latency_seconds',
    'histogram',
    'fleet',
    ['operation'],
    'Key-provider call latency, in seconds: encrypt wraps a new data key, decrypt unwraps one, sign is a CA key signing.',
  ),
  kmsErrors: metric('scaivault_kms_errors_total', 'counter', 'fleet', ['operation'], 'Key-provider calls that failed.'),
  dbPoolSize: metric('scaivault_db_pool_size', 'gauge', 'live', [], "Open sockets in the AWS SDK clients' connection pools, summed over live instances."),
  dbPoolAvailable: metric(
    'scaivault_db_pool_available',
    'gauge',
    'live',
    [],
    "Idle sockets ready for reuse in the AWS SDK clients' pools, summed over live instances.",
  ),
  rotationQueueDepth: metric('scaivault_rotation_queue_depth', 'gauge', 'state', [], 'Messages waiting in the rotation queue.'),
  webhookQueueDepth: metric('scaivault_webhook_queue_depth', 'gauge', 'state', [], 'Messages waiting in the webhook queue.'),
  rotationQueueOldestAge: metric(
    'scaivault_rotation_queue_oldest_age_seconds',
    'gauge',
    'state',
    [],
    'Age of the oldest pending rotation job, in seconds (0 when none).',
  ),
  webhookQueueOldestAge: metric(
    'scaivault_webhook_queue_oldest_age_seconds',
    'gauge',
    'state',
    [],
    'Age of the oldest pending webhook delivery, in seconds (0 when none).',
  ),
  webhookDeliveryDuration: metric('scaivault_webhook_delivery_duration_seconds', 'histogram', 'fleet', [], 'Webhook delivery attempt duration, in seconds.'),
  webhookDeliveries: metric('scaivault_webhook_deliveries_total', 'counter', 'fleet', ['status'], 'Webhook delivery attempts, by outcome (success or failed).'),
  jobsDeadLetter: metric('scaivault_jobs_dead_letter_total', 'counter', 'fleet', ['queue'], 'Jobs moved to a dead-letter queue after their last attempt.'),
  keyCacheHits: metric('scaivault_key_cache_hits_total', 'counter', 'fleet', [], 'Data-key cache lookups served from memory.'),
  keyCacheMisses: metric('scaivault_key_cache_misses_total', 'counter', 'fleet', [], 'Data-key cache lookups that had to unwrap a key.'),
  keyCacheEntries: metric('scaivault_key_cache_entries', 'gauge', 'live', [], 'Unwrapped data keys held in memory, summed over live instances.'),
  auditLastSeal: metric(
    'scaivault_audit_last_seal_timestamp_seconds',
    'gauge',
    'state',
    [],
    'When the audit sealer last anchored a block (Unix seconds; 0 before the first seal).',
  ),
  auditChainDivergence: metric(
    'scaivault_audit_chain_divergence',
    'gauge',
    'state',
    [],
    '1 when the last audit chain verification found a divergent block, else 0.',
  ),
  auditEvents: metric(
    'scaivault_audit_events_total',
    'counter',
    'fleet',
    ['event_type', 'outcome'],
    'Audit events written durably, by event type (as the code names them; anything else is other) and outcome.',
  ),
  auditWriteFailures: metric(
    'scaivault_audit_write_failures_total',
    'counter',
    'fleet',
    [],
    'Audit events that could not be written; their requests were refused with 503.',
  ),
  auditDetections: metric('scaivault_audit_detections_total', 'counter', 'fleet', ['detection'], 'Audit-driven detections raised by the sealer, by kind.'),
  auditSyslogDropped: metric(
    'scaivault_audit_syslog_dropped_total',
    'counter',
    'fleet',
    [],
    'Audit events the syslog forwarder dropped (buffer overflow while the relay was unreachable).',
  ),
  ready: metric(
    'scaivault_ready',
    'gauge',
    'state',
    [],
    "1 when every readiness dependency answered its last check, else 0 (a scrape runs the checks; a push carries the scheduler's).",
  ),
  dependencyUp: metric('scaivault_dependency_up', 'gauge', 'state', ['dependency'], '1 when the dependency answered its last readiness check, else 0.'),
  dependencyCheckDuration: metric(
    'scaivault_dependency_check_duration_seconds',
    'histogram',
    'fleet',
    ['dependency'],
    'Time a readiness check of a dependency took, in seconds (a timed-out check counts its deadline).',
  ),
  metricsPublishFailures: metric(
    'scaivault_metrics_publish_failures_total',
    'counter',
    'fleet',
    [],
    "Remote-write pushes of the fleet's metrics that failed after their retries.",
  ),
  metricsLastPublish: metric(
    'scaivault_metrics_last_publish_timestamp_seconds',
    'gauge',
    'latest',
    [],
    "When the fleet's metrics were last remote-written successfully (Unix seconds).",
  ),
  jobsQueued: metric('scaivault_jobs_queued_total', 'counter', 'fleet', ['type'], 'Background jobs recorded and queued, by queue.'),
  jobsCompleted: metric(
    'scaivault_jobs_completed_total',
    'counter',
    'fleet',
    ['type', 'result'],
    'Background jobs finished, by queue and result (success, failed, or partial: done but its closing audit record was lost).',
  ),
  jobsRetry: metric('scaivault_jobs_retry_total', 'counter', 'fleet', ['type'], 'Job attempts that failed and were left for SQS to deliver again.'),
  jobsDuration: metric('scaivault_jobs_duration_seconds', 'histogram', 'fleet', ['type'], 'Time one job attempt took in its worker, in seconds.'),
  jobsQueueDepth: metric('scaivault_jobs_queue_depth', 'gauge', 'state', ['type'], "Messages waiting in a job queue (SQS's ApproximateNumberOfMessages)."),
  jobsOldestAge: metric(
    'scaivault_jobs_oldest_age_seconds',
    'gauge',
    'state',
    ['type'],
    "Age of a queue's oldest unfinished job, from the outbox in DynamoDB, in seconds (0 when none).",
  ),
  auditSeals: metric(
    'scaivault_audit_seals_total',
    'counter',
    'fleet',
    ['result'],
    'Audit sealer runs, by result: success (blocks written and anchored) or failed.',
  ),
  auditAnchorFailures: metric(
    'scaivault_audit_anchor_failures_total',
    'counter',
    'fleet',
    ['reason'],
    'Sealed blocks whose anchor could not be written outside DynamoDB, by error class (network, auth, io_transient, io_permanent, validation).',
  ),
  auditSealDuration: metric('scaivault_audit_seal_duration_seconds', 'histogram', 'fleet', [], 'Time one audit sealer run took, in seconds.'),
  auditEventsUnsealed: metric('scaivault_audit_events_unsealed', 'gauge', 'state', [], 'Audit events stored after the head block: not sealed yet.'),
  auditChainHeadBlock: metric(
    'scaivault_audit_chain_head_block',
    'gauge',
    'state',
    [],
    "Sequence number of the audit chain's newest block (absent before the first).",
  ),
  tokensExpiringSoon: metric(
    'scaivault_tokens_expiring_soon',
    'gauge',
    'state',
    ['within'],
    'Tokens that expire within the window (1h, 24h), read from the token expiry index.',
  ),
  dbBackups: metric('scaivault_db_backup_total', 'counter', 'fleet', [], 'Backup attempts of every table (embedded snapshots, scheduled exports).'),
  dbBackupsFailed: metric('scaivault_db_backup_failed_total', 'counter', 'fleet', [], 'Backup attempts that failed.'),
  dbBackupDuration: {
    ...metric('scaivault_db_backup_duration_seconds', 'histogram', 'fleet', [], 'Duration of backups, failed ones included, in seconds.'),
    buckets: JOB_DURATION_BUCKETS,
  },
  dbBackupSize: {
    ...metric('scaivault_db_backup_size_bytes', 'histogram', 'fleet', [], 'Size of each successful backup, in bytes (compressed).'),
    buckets: SIZE_BUCKETS,
  },
  dbBackupLastSuccess: metric(
    'scaivault_db_backup_last_success_timestamp_seconds',
    'gauge',
    'latest',
    [],
    'When a backup last succeeded anywhere in the fleet (Unix seconds).',
  ),
  restoreDrillLastSuccess: metric(
    'scaivault_restore_drill_last_success_timestamp_seconds',
    'gauge',
    'latest',
    [],
    'When a restore drill last proved a backup restorable (Unix seconds).',
  ),
  restoreDrillCheck: metric(
    'scaivault_restore_drill_check',
    'gauge',
    'latest',
    ['check'],
    "The last restore drill's result per check (manifest, sha256, counts, decrypt, audit_chain): 1 passed, 0 failed; a check not reached keeps its last result.",
  ),
  restoreDrills: metric('scaivault_restore_drills_total', 'counter', 'fleet', ['result'], 'Restore drills run, by result (success or failed).'),
  notificationDeliveries: metric(
    'scaivault_notification_deliveries_total',
    'counter',
    'fleet',
    ['channel', 'status'],
    'Chat notifications of operational events, by channel (slack, json) and status (sent, failed, throttled: a 429 not retried, suppressed: over the hourly budget).',
  ),
  buildInfo: metric('scaivault_build_info', 'gauge', 'state', ['version'], 'Always 1; the version label names the running build.'),
  keyRotationActive: metric('scaivault_key_rotation_active', 'gauge', 'state', ['tenant'], "1 while the tenant's data-key rotation is re-sealing, else 0."),
  keyRotationProgress: metric(
    'scaivault_key_rotation_progress_ratio',
    'gauge',
    'state',
    ['tenant'],
    "Fraction of the values under older data keys re-sealed by the tenant's latest rotation (1 when finished).",
  ),
  sealedItems: metric(
    'scaivault_sealed_items',
    'gauge',
    'state',
    ['key_state'],
    "Sealed values under their tenant's active data key and under older keys (the laggards), as the rotations last counted them.",
  ),
  keyWraps: metric('scaivault_key_wraps_total', 'counter', 'fleet', ['provider', 'result'], 'Data keys generated and wrapped by the key provider, by outcome.'),
  keyUnwraps: metric('scaivault_key_unwraps_total', 'counter', 'fleet', ['provider', 'result'], 'Wrapped data keys unwrapped by the key provider, by outcome.'),
} as const;

/** An audit event type as a label: the code's own names (`secret.read`, `detection.dormant_secret_read`), anything else `other`. */
export const auditEventTypeLabel = (type: string): string => (/^[a-z_]{1,32}(\.[a-z_]{1,48}){0,2}$/.test(type) ? type : OTHER_LABEL_VALUE);

/** `scaivault_jobs_completed_total{result}`. */
export const JOB_RESULTS = ['success', 'failed', 'partial'] as const;
export type JobCompletion = (typeof JOB_RESULTS)[number];

/** Label values known in advance: their series start at 0, so rate() and alerts work from the first scrape. */
export const KNOWN_SERIES: Readonly<Partial<Record<string, readonly (readonly string[])[]>>> = {
  [METRICS.secretRotations.name]: [['success'], ['failed']],
  [METRICS.webhookDeliveries.name]: [['success'], ['failed']],
  [METRICS.jobsDeadLetter.name]: [['rotation'], ['webhook'], ['audit-export']],
  [METRICS.kmsErrors.name]: [['encrypt'], ['decrypt']],
  [METRICS.keyCacheHits.name]: [[]],
  [METRICS.keyCacheMisses.name]: [[]],
  [METRICS.rateLimitHits.name]: [['read'], ['write'], ['list'], ['admin'], ['auth']],
  [METRICS.auditWriteFailures.name]: [[]],
  [METRICS.metricsPublishFailures.name]: [[]],
  [METRICS.auditDetections.name]: [['policy_violation_spike'], ['dormant_secret_read'], ['new_identity_sensitive_read']],
  [METRICS.jobsQueued.name]: JOB_QUEUES.map((queue) => [queue]),
  [METRICS.auditSeals.name]: [['success'], ['failed']],
  [METRICS.jobsRetry.name]: JOB_QUEUES.map((queue) => [queue]),
  [METRICS.jobsCompleted.name]: JOB_QUEUES.flatMap((queue) => JOB_RESULTS.map((result) => [queue, result])),
  [METRICS.dbBackups.name]: [[]],
  [METRICS.dbBackupsFailed.name]: [[]],
  [METRICS.restoreDrills.name]: [['success'], ['failed']],
};
export const CATALOGUE: readonly MetricDefinition[] = Object.values(METRICS);
export const definitionOf = (name: string): MetricDefinition | undefined => CATALOGUE.find((m) => m.name === name);
