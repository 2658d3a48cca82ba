// The one description of ScaiVault's runtime: its tables, queues and bucket, the
// environment variables that carry them and the settings to the code, and its
// functions. The CDK stacks (lib/), the embedded runtime (local/), the
// configuration loader (functions/config.ts) and the build all read it.

/**
 * The Node.js major every ScaiVault Lambda runs (`nodejs24.x`) and its bundles
 * target. Node 24 backs AsyncLocalStorage with V8's continuation-preserved data
 * (AsyncContextFrame) instead of async_hooks promise hooks, which is what keeps
 * OpenTelemetry context propagation cheap: see docs/observability.md.
 */
export const LAMBDA_NODE_MAJOR = 24;

/** Every environment variable the functions read, by what it carries. */
export const ENV = {
  version: 'SCAIVAULT_VERSION',
  stateTable: 'SCAIVAULT_STATE_TABLE',
  metricsTable: 'SCAIVAULT_METRICS_TABLE',
  auditTable: 'SCAIVAULT_AUDIT_TABLE',
  rotationQueueUrl: 'SCAIVAULT_ROTATION_QUEUE_URL',
  webhookQueueUrl: 'SCAIVAULT_WEBHOOK_QUEUE_URL',
  auditExportQueueUrl: 'SCAIVAULT_AUDIT_EXPORT_QUEUE_URL',
  auditBucket: 'SCAIVAULT_AUDIT_BUCKET',
  keyProvider: 'SCAIVAULT_KEY_PROVIDER',
  kmsKeyId: 'SCAIVAULT_KMS_KEY_ID',
  localKeyFile: 'SCAIVAULT_LOCAL_KEY_FILE',
  s3ForcePathStyle: 'SCAIVAULT_S3_FORCE_PATH_STYLE',
  rateLimits: 'SCAIVAULT_RATE_LIMITS',
  keyCacheTtlSeconds: 'SCAIVAULT_KEY_CACHE_TTL_SECONDS',
  keyCacheMaxEntries: 'SCAIVAULT_KEY_CACHE_MAX_ENTRIES',
  authCacheTtlSeconds: 'SCAIVAULT_AUTH_CACHE_TTL_SECONDS',
  dependencyTimeoutMs: 'SCAIVAULT_DEPENDENCY_TIMEOUT_MS',
  readinessCheckTimeoutMs: 'SCAIVAULT_READINESS_CHECK_TIMEOUT_MS',
  requestDeadlineMs: 'SCAIVAULT_REQUEST_DEADLINE_MS',
  maxTokenTtlSeconds: 'SCAIVAULT_MAX_TOKEN_TTL_SECONDS',
  metricsToken: 'SCAIVAULT_METRICS_TOKEN',
  metricsTokenSecretArn: 'SCAIVAULT_METRICS_TOKEN_SECRET_ARN',
  /** How long an api instance trusts its last read of the metrics token secret. */
  metricsTokenTtlSeconds: 'SCAIVAULT_METRICS_TOKEN_TTL_SECONDS',
  /** How long after a rotation the previous metrics token is still accepted. */
  metricsTokenGraceSeconds: 'SCAIVAULT_METRICS_TOKEN_GRACE_SECONDS',
  rootTokenSecretArn: 'SCAIVAULT_ROOT_TOKEN_SECRET_ARN',
  metricsFlushSeconds: 'SCAIVAULT_METRICS_FLUSH_SECONDS',
  metricsRetireSeconds: 'SCAIVAULT_METRICS_RETIRE_SECONDS',
  metricsLabelCap: 'SCAIVAULT_METRICS_LABEL_CAP',
  /** A scrape serves the stored fleet view while it is younger than this; 0 merges every instance's item per scrape. */
  metricsViewMaxAgeSeconds: 'SCAIVAULT_METRICS_VIEW_MAX_AGE_SECONDS',
  metricsStateCacheSeconds: 'SCAIVAULT_METRICS_STATE_CACHE_SECONDS',
  jobResendUnsentSeconds: 'SCAIVAULT_JOB_RESEND_UNSENT_SECONDS',
  jobResendLostSeconds: 'SCAIVAULT_JOB_RESEND_LOST_SECONDS',
  egressAllowlist: 'SCAIVAULT_EGRESS_ALLOWLIST',
  webhookTimeoutMs: 'SCAIVAULT_WEBHOOK_TIMEOUT_MS',
  webhookBackoffBaseMs: 'SCAIVAULT_WEBHOOK_BACKOFF_BASE_MS',
  webhookBackoffCapMs: 'SCAIVAULT_WEBHOOK_BACKOFF_CAP_MS',
  webhookMaxAttempts: 'SCAIVAULT_WEBHOOK_MAX_ATTEMPTS',
  /** How long an instance's event fan-out reuses a tenant's subscription list (0: read it for every event). */
  webhookSubscriptionCacheSeconds: 'SCAIVAULT_WEBHOOK_SUBSCRIPTION_CACHE_SECONDS',
  /** Dynamic secrets: the first retry's delay after a failed lease revocation (doubling up to an hour), and the attempts before a lease is irrevocable. */
  leaseRevokeBackoffBaseMs: 'SCAIVAULT_LEASE_REVOKE_BACKOFF_BASE_MS',
  leaseRevokeMaxAttempts: 'SCAIVAULT_LEASE_REVOKE_MAX_ATTEMPTS',
  syslogUrl: 'SCAIVAULT_SYSLOG_URL',
  syslogCaFile: 'SCAIVAULT_SYSLOG_CA_FILE',
  syslogCaPem: 'SCAIVAULT_SYSLOG_CA_PEM',
  syslogFacility: 'SCAIVAULT_SYSLOG_FACILITY',
  syslogHostname: 'SCAIVAULT_SYSLOG_HOSTNAME',
  syslogAppName: 'SCAIVAULT_SYSLOG_APP_NAME',
  syslogBufferSize: 'SCAIVAULT_SYSLOG_BUFFER_SIZE',
  auditSealGraceSeconds: 'SCAIVAULT_AUDIT_SEAL_GRACE_SECONDS',
  auditBlockMaxEvents: 'SCAIVAULT_AUDIT_BLOCK_MAX_EVENTS',
  auditBlocksPerRun: 'SCAIVAULT_AUDIT_BLOCKS_PER_RUN',
  auditVerifySecondsPerRun: 'SCAIVAULT_AUDIT_VERIFY_SECONDS_PER_RUN',
  auditViolationSpikeThreshold: 'SCAIVAULT_AUDIT_VIOLATION_SPIKE_THRESHOLD',
  auditDormantDays: 'SCAIVAULT_AUDIT_DORMANT_DAYS',
  auditSensitivePaths: 'SCAIVAULT_AUDIT_SENSITIVE_PATHS',
  tracesFlush: 'SCAIVAULT_TRACES_FLUSH',
  /** Days after which a tenant's data key is rotated by the scheduler (0: never). */
  dataKeyRotationDays: 'SCAIVAULT_DATA_KEY_ROTATION_DAYS',
  keyRotationBatchSize: 'SCAIVAULT_KEY_ROTATION_BATCH_SIZE',
  keyRotationConcurrency: 'SCAIVAULT_KEY_ROTATION_CONCURRENCY',
  keyRotationSecondsPerRun: 'SCAIVAULT_KEY_ROTATION_SECONDS_PER_RUN',
  logLevel: 'LOG_LEVEL',
  logFormat: 'LOG_FORMAT',
  /** Powertools Metrics' (EMF) namespace; unset turns EMF off. */
  cloudWatchNamespace: 'POWERTOOLS_METRICS_NAMESPACE',
  otelExporterEndpoint: 'OTEL_EXPORTER_OTLP_ENDPOINT',
  otelTracesEndpoint: 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT',
  otelExporterProtocol: 'OTEL_EXPORTER_OTLP_PROTOCOL',
  otelTracesProtocol: 'OTEL_EXPORTER_OTLP_TRACES_PROTOCOL',
  otelServiceName: 'OTEL_SERVICE_NAME',
  otelResourceAttributes: 'OTEL_RESOURCE_ATTRIBUTES',
  otelTracesSamplerArg: 'OTEL_TRACES_SAMPLER_ARG',
  otelSdkDisabled: 'OTEL_SDK_DISABLED',
  /** Read by the ADOT collector extension, not by our code. */
  collectorConfigUri: 'OPENTELEMETRY_COLLECTOR_CONFIG_URI',
  /** The stack's Amazon Managed Prometheus remote-write URL: the scheduler pushes there, signed with SigV4 (service `aps`). */
  ampRemoteWriteEndpoint: 'AMP_REMOTE_WRITE_ENDPOINT',
  /** Any other remote-write receiver (embedded mode): pushed unsigned; wins over the AMP endpoint. */
  remoteWriteUrl: 'SCAIVAULT_REMOTE_WRITE_URL',
  /** The `instance` label of pushed series: the stage in AWS, the hostname by default. */
  metricsInstance: 'SCAIVAULT_METRICS_INSTANCE',
  /** Extra CA certificates (a PEM file) ACME calls trust besides the system roots: a test ACME server's CA. */
  acmeCaFile: 'SCAIVAULT_ACME_CA_FILE',
  /** Each ACME HTTP call's timeout. */
  acmeCallTimeoutMs: 'SCAIVAULT_ACME_CALL_TIMEOUT_MS',
  /** How long one order may wait for validation and issuance in all. */
  acmeOrderBudgetMs: 'SCAIVAULT_ACME_ORDER_BUDGET_MS',
  /** Embedded backups: where they go (`<data dir>/backups`), how often (minutes, 0 = never), how many are kept. */
  backupDir: 'SCAIVAULT_BACKUP_DIR',
  backupIntervalMinutes: 'SCAIVAULT_BACKUP_INTERVAL_MINUTES',
  backupKeep: 'SCAIVAULT_BACKUP_KEEP',
  /** How often the latest backup is restored into scratch tables and proved (minutes, 0 = never). */
  restoreDrillIntervalMinutes: 'SCAIVAULT_RESTORE_DRILL_INTERVAL_MINUTES',
  /** AWS: the bucket the scheduler's DynamoDB exports (ExportTableToPointInTime) go to, and how often (hours). */
  backupExportBucket: 'SCAIVAULT_BACKUP_EXPORT_BUCKET',
  backupExportIntervalHours: 'SCAIVAULT_BACKUP_EXPORT_INTERVAL_HOURS',
  /** Chat notifications of operational events: a Slack-compatible incoming webhook and/or a generic JSON one. */
  notifySlackWebhookUrl: 'SCAIVAULT_NOTIFY_SLACK_WEBHOOK_URL',
  notifyJsonWebhookUrl: 'SCAIVAULT_NOTIFY_JSON_WEBHOOK_URL',
  notifyMaxPerHour: 'SCAIVAULT_NOTIFY_MAX_PER_HOUR',
  notifyTimeoutMs: 'SCAIVAULT_NOTIFY_TIMEOUT_MS',
  /** The `[environment]` every notification starts with. */
  environment: 'SCAIVAULT_ENVIRONMENT',
} as const;

export interface AttributeDefinition {
  readonly name: string;
  readonly type: 'S' | 'N';
}

export interface IndexDefinition {
  readonly indexName: string;
  readonly partitionKey: AttributeDefinition;
  readonly sortKey?: AttributeDefinition;
}

export interface TableDefinition {
  /** Logical id in CDK and the embedded table name. */
  readonly id: string;
  /** Environment variable that carries the physical name to the functions. */
  readonly envVar: string;
  readonly partitionKey: AttributeDefinition;
  readonly sortKey?: AttributeDefinition;
  readonly timeToLiveAttribute?: string;
  readonly globalSecondaryIndexes: readonly IndexDefinition[];
}

export interface QueueDefinition {
  readonly id: string;
  readonly envVar: string;
  readonly visibilityTimeoutSeconds: number;
  readonly maxReceiveCount: number;
  readonly retentionDays: number;
}

export interface BucketDefinition {
  readonly id: string;
  readonly envVar: string;
}

/** Every table's key: a string partition key `pk` and sort key `sk`. */
const PK_SK = { partitionKey: { name: 'pk', type: 'S' }, sortKey: { name: 'sk', type: 'S' } } as const;

export const STATE_TABLE: TableDefinition = {
  id: 'scaivault-state',
  envVar: ENV.stateTable,
  ...PK_SK,
  timeToLiveAttribute: 'ttl',
  globalSecondaryIndexes: [
    {
      indexName: 'gsi1',
      partitionKey: { name: 'gsi1pk', type: 'S' },
      sortKey: { name: 'gsi1sk', type: 'S' },
    },
  ],
};

/** Fleet metrics: one item per api instance plus the baseline of retired ones. */
export const METRICS_TABLE: TableDefinition = {
  id: 'scaivault-metrics',
  envVar: ENV.metricsTable,
  ...PK_SK,
  timeToLiveAttribute: 'ttl',
  globalSecondaryIndexes: [],
};

/**
 * The audit trail: append-only event items (pk `DAY#<yyyy-mm-dd>`, sk `<time>#<event id>`)
 * and the sealed blocks (pk `BLOCK`, sk the zero-padded sequence number). No role may
 * update or delete items here; only the sealer writes blocks.
 */
export const AUDIT_TABLE: TableDefinition = {
  id: 'scaivault-audit',
  envVar: ENV.auditTable,
  ...PK_SK,
  // Blocks by the key their window ends at: where an export over a time range starts.
  globalSecondaryIndexes: [{ indexName: 'byEnd', partitionKey: { name: 'gpk', type: 'S' }, sortKey: { name: 'gsk', type: 'S' } }],
};

export const TABLES: readonly TableDefinition[] = [STATE_TABLE, METRICS_TABLE, AUDIT_TABLE];

export const ROTATION_QUEUE: QueueDefinition = {
  id: 'scaivault-rotation',
  envVar: ENV.rotationQueueUrl,
  visibilityTimeoutSeconds: 120,
  maxReceiveCount: 5,
  retentionDays: 4,
};

export const WEBHOOK_QUEUE: QueueDefinition = {
  id: 'scaivault-webhook',
  envVar: ENV.webhookQueueUrl,
  visibilityTimeoutSeconds: 60,
  maxReceiveCount: 8,
  retentionDays: 4,
};

/** Audit exports: one message per export job; the `audit-export` function may run for minutes. */
export const AUDIT_EXPORT_QUEUE: QueueDefinition = {
  id: 'scaivault-audit-export',
  envVar: ENV.auditExportQueueUrl,
  visibilityTimeoutSeconds: 900,
  maxReceiveCount: 3,
  retentionDays: 4,
};

export const QUEUES: readonly QueueDefinition[] = [ROTATION_QUEUE, WEBHOOK_QUEUE, AUDIT_EXPORT_QUEUE];

/** Where the sealer anchors blocks, and where exports and their manifests go, in the audit bucket. */
export const AUDIT_ANCHOR_PREFIX = 'audit/blocks/';
export const AUDIT_EXPORT_PREFIX = 'audit/exports/';
/** Where each CA's signed CRL is published for relying parties: `pki/<tenant>/<ca id>/crl.der|pem`. */
export const PKI_CRL_PREFIX = 'pki/';
/** The tag every KMS key ScaiVault creates for a CA (`key_backend: "kms"`) carries: its IAM grants are scoped by it. */
export const PKI_KMS_KEY_TAG = { key: 'scaivault:purpose', value: 'pki-ca' } as const;

export const AUDIT_BUCKET: BucketDefinition = {
  id: 'scaivault-audit',
  envVar: ENV.auditBucket,
};

export const deadLetterQueueId = (queue: QueueDefinition): string => `${queue.id}-dlq`;

/** How a worker's queue invokes it (an SQS event source mapping in AWS, a poller in the embedded runtime). */
export interface QueueTrigger {
  readonly kind: 'queue';
  readonly queue: QueueDefinition;
  /** Messages per invocation, 1..10. */
  readonly batchSize: number;
  /** How long the poller may wait to fill a batch. @default no wait */
  readonly maxBatchingWindowSeconds?: number;
  /** Concurrent invocations the mapping may start. */
  readonly maxConcurrency: number;
}

/** Invoked by Secrets Manager with the four steps of each rotation of one secret, every `everyDays` days. */
export interface SecretRotationTrigger {
  readonly kind: 'secret-rotation';
  readonly everyDays: number;
}

export type FunctionTrigger = { readonly kind: 'http' } | { readonly kind: 'schedule'; readonly rateMinutes: number } | QueueTrigger | SecretRotationTrigger;

export interface FunctionDefinition<T extends FunctionTrigger = FunctionTrigger> {
  /** The bundle `dist/functions/<name>/index.mjs`, built from `handler`. */
  readonly name: string;
  /** Entry point, relative to the repository root. */
  readonly handler: string;
  readonly description: string;
  /** Logger and OpenTelemetry service name. */
  readonly service: string;
  readonly trigger: T;
  readonly timeoutSeconds: number;
  readonly memoryMb: number;
}

const fn = <T extends FunctionTrigger>(name: string, definition: Omit<FunctionDefinition<T>, 'name' | 'handler' | 'service'>): FunctionDefinition<T> => ({
  name,
  handler: `functions/handlers/${name}.ts`,
  service: `scaivault-${name}`,
  ...definition,
});

/*
 * Worker timeouts sit inside their queue's visibility timeout (120 s rotation,
 * 60 s webhook, 900 s audit export), which Lambda requires, but not six times
 * inside it as AWS suggests: that margin is for a received batch whose
 * invocation is throttled and retried. Here each mapping's maxConcurrency caps
 * the invocations its poller starts, any throttle alarms, and a batch that does
 * outlive its visibility costs one receive of an idempotent job (5, 8 and 3
 * allowed before the DLQ).
 */
export const API_FUNCTION = fn('api', { description: 'ScaiVault HTTP API', trigger: { kind: 'http' }, timeoutSeconds: 10, memoryMb: 512 });

// Rotation jobs run one after another within a batch and may call external systems: small batches, few at once.
export const ROTATION_WORKER_FUNCTION = fn('rotation-worker', {
  description: 'ScaiVault rotation jobs (rotation queue)',
  trigger: { kind: 'queue', queue: ROTATION_QUEUE, batchSize: 5, maxBatchingWindowSeconds: 1, maxConcurrency: 5 },
  timeoutSeconds: 60,
  memoryMb: 512,
});

// Deliveries run concurrently, each bounded by SCAIVAULT_WEBHOOK_TIMEOUT_MS (10 s).
export const WEBHOOK_WORKER_FUNCTION = fn('webhook-worker', {
  description: 'ScaiVault webhook deliveries (webhook queue)',
  trigger: { kind: 'queue', queue: WEBHOOK_QUEUE, batchSize: 10, maxBatchingWindowSeconds: 1, maxConcurrency: 10 },
  timeoutSeconds: 30,
  memoryMb: 512,
});

export const SCHEDULER_FUNCTION = fn('scheduler', {
  description: 'ScaiVault scheduler: due rotations, outbox re-sends, audit sealing',
  trigger: { kind: 'schedule', rateMinutes: 1 },
  timeoutSeconds: 60,
  memoryMb: 512,
});

// An export streams a time range of the trail to S3: most of its queue's 900 s visibility, and one
// export per invocation, since a job may take minutes and a batch shares one timeout.
export const AUDIT_EXPORT_FUNCTION = fn('audit-export', {
  description: 'ScaiVault audit exports (audit-export queue)',
  trigger: { kind: 'queue', queue: AUDIT_EXPORT_QUEUE, batchSize: 1, maxConcurrency: 2 },
  timeoutSeconds: 600,
  memoryMb: 1024,
});

// Rotates the /v1/metrics token; deployed beside its secret in the stateful stack, and not run
// by the embedded runtime, whose metrics token is SCAIVAULT_METRICS_TOKEN.
export const METRICS_TOKEN_ROTATION_FUNCTION = fn('metrics-token-rotation', {
  description: 'ScaiVault metrics token rotation (Secrets Manager rotation steps)',
  trigger: { kind: 'secret-rotation', everyDays: 30 },
  timeoutSeconds: 30,
  memoryMb: 256,
});

/**
 * Every ScaiVault function: one bundle each, deployed by the stateless stack (the
 * metrics token's rotation by the stateful one), the queue-triggered ones and
 * the scheduler run in-process by the embedded runtime.
 */
export const FUNCTIONS: readonly FunctionDefinition[] = [
  API_FUNCTION,
  ROTATION_WORKER_FUNCTION,
  WEBHOOK_WORKER_FUNCTION,
  SCHEDULER_FUNCTION,
  AUDIT_EXPORT_FUNCTION,
  METRICS_TOKEN_ROTATION_FUNCTION,
];
