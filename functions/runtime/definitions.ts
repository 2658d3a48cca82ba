// The one description of ScaiVault's stateful resources. The CDK stateful stack
// and the embedded runtime both build their tables, queues and bucket from it.

/**
 * The Node.js major every ScaiVault Lambda runs (`nodejs24.x`) and its bundles
 * target. Node 24 backs AsyncLocalStorage with V8's continuation-preserved data
 * (AsyncContextFrame) instead of async_hooks promise hooks, which is what keeps
 * OpenTelemetry context propagation cheap: see docs/observability.md.
 */
export const LAMBDA_NODE_MAJOR = 24;

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

export const STATE_TABLE: TableDefinition = {
  id: 'scaivault-state',
  envVar: 'SCAIVAULT_STATE_TABLE',
  partitionKey: { name: 'pk', type: 'S' },
  sortKey: { name: 'sk', type: 'S' },
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
  envVar: 'SCAIVAULT_METRICS_TABLE',
  partitionKey: { name: 'pk', type: 'S' },
  sortKey: { name: 'sk', type: 'S' },
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
  envVar: 'SCAIVAULT_AUDIT_TABLE',
  partitionKey: { name: 'pk', type: 'S' },
  sortKey: { name: 'sk', type: 'S' },
  // Blocks by the key their window ends at: where an export over a time range starts.
  globalSecondaryIndexes: [{ indexName: 'byEnd', partitionKey: { name: 'gpk', type: 'S' }, sortKey: { name: 'gsk', type: 'S' } }],
};

export const TABLES: readonly TableDefinition[] = [STATE_TABLE, METRICS_TABLE, AUDIT_TABLE];

export const ROTATION_QUEUE: QueueDefinition = {
  id: 'scaivault-rotation',
  envVar: 'SCAIVAULT_ROTATION_QUEUE_URL',
  visibilityTimeoutSeconds: 120,
  maxReceiveCount: 5,
  retentionDays: 4,
};

export const WEBHOOK_QUEUE: QueueDefinition = {
  id: 'scaivault-webhook',
  envVar: 'SCAIVAULT_WEBHOOK_QUEUE_URL',
  visibilityTimeoutSeconds: 60,
  maxReceiveCount: 8,
  retentionDays: 4,
};

/** Audit exports: one message per export job; the `audit-export` function may run for minutes. */
export const AUDIT_EXPORT_QUEUE: QueueDefinition = {
  id: 'scaivault-audit-export',
  envVar: 'SCAIVAULT_AUDIT_EXPORT_QUEUE_URL',
  visibilityTimeoutSeconds: 900,
  maxReceiveCount: 3,
  retentionDays: 4,
};

export const QUEUES: readonly QueueDefinition[] = [ROTATION_QUEUE, WEBHOOK_QUEUE, AUDIT_EXPORT_QUEUE];

/** Where the sealer anchors blocks, and where exports and their manifests go, in the audit bucket. */
export const AUDIT_ANCHOR_PREFIX = 'audit/blocks/';
export const AUDIT_EXPORT_PREFIX = 'audit/exports/';

export const AUDIT_BUCKET: BucketDefinition = {
  id: 'scaivault-audit',
  envVar: 'SCAIVAULT_AUDIT_BUCKET',
};

export const deadLetterQueueId = (queue: QueueDefinition): string => `${queue.id}-dlq`;
