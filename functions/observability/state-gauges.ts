import { progressRatio, sealedItemCounts } from '../domain/crypto/key-rotation-progress.js';
import type { KeyRotation } from '../domain/ports/keys.js';
import { TOKEN_EXPIRY_WINDOWS } from '../domain/auth/token-expiry.js';
import { JOB_QUEUES, type JobQueueName } from '../domain/jobs/jobs.js';
import { METRICS } from './metric-catalogue.js';
import { seriesKey, type MetricsSnapshot } from './metric-registry.js';

export interface AuditChainState {
  readonly lastSealSeconds: number;
  readonly divergence: number;
  /** The head block's sequence number; undefined before the first seal. */
  readonly headBlock?: number;
  /** Events stored after the head block. */
  readonly unsealed: number;
}

type QueueCounts = { waiting: number; backlog: number };

/** Reads of the source of truth behind the `state` gauges. */
export interface StateSource {
  tenantIds(): Promise<string[]>;
  liveSecrets(tenantId: string): Promise<number>;
  /** A queue's waiting messages and its whole backlog (waiting, in flight, delayed); undefined when the queue is not configured. */
  queueDepth(queue: JobQueueName): Promise<QueueCounts | undefined>;
  oldestPendingAgeSeconds(queue: JobQueueName): Promise<number>;
  /** Tokens expiring within `seconds` from now (an index query, never a scan). */
  tokensExpiringWithin(seconds: number): Promise<number>;
  /** The newest block's seal time (Unix seconds, 0 before the first) and the divergence gauge. */
  /** Dynamic secrets' gauges (leases active, irrevocable, oldest age; engine health), by engine. */
  leaseGauges?(): Promise<MetricsSnapshot>;
  /** Every tenant's latest data-key rotation (absent: no rotation gauges). */
  keyRotations?(): Promise<KeyRotation[]>;
  /** The PKI's gauges (certificates active and expiring, CA expiry, CRL age), read from the inventory's expiry index. */
  certificateGauges(): Promise<MetricsSnapshot>;
  auditChain(): Promise<AuditChainState>;
}

/** The rotation gauges: active and progress per tenant that ever rotated, sealed items by key state summed over them. */
export const keyRotationGauges = (rotations: readonly KeyRotation[]): MetricsSnapshot => {
  const sealed = { active: 0, older: 0 };
  for (const rotation of rotations) {
    const counts = sealedItemCounts(rotation);
    sealed.active += counts.active;
    sealed.older += counts.older;
  }
  return {
    [METRICS.keyRotationActive.name]: Object.fromEntries(rotations.map((r) => [seriesKey([r.tenantId]), r.state === 'running' ? 1 : 0])),
    [METRICS.keyRotationProgress.name]: Object.fromEntries(rotations.map((r) => [seriesKey([r.tenantId]), progressRatio(r)])),
    [METRICS.sealedItems.name]: { [seriesKey(['active'])]: sealed.active, [seriesKey(['older'])]: sealed.older },
  };
};

/**
 * Gauges read from DynamoDB and SQS at scrape time, cached briefly so a burst
 * of scrapes (several Prometheus replicas) costs one read.
 */
export class StateGauges {
  private cached: { at: number; value: MetricsSnapshot } | undefined;
  private pending: Promise<MetricsSnapshot> | undefined;

  constructor(
    private readonly source: StateSource,
    private readonly version: string,
    private readonly cacheMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  async read(): Promise<MetricsSnapshot> {
    if (this.cached && this.now() - this.cached.at < this.cacheMs) return this.cached.value;
    this.pending ??= this.load().finally(() => {
      this.pending = undefined;
    });
    return this.pending;
  }

  /**
   * For the scrape: when the source of truth is unreachable, the last values
   * read (or none) rather than no metrics at all; counters and histograms come
   * from the metrics table and stay exact.
   */
  async readOrLast(onError: (error: unknown) => void): Promise<MetricsSnapshot> {
    try {
      return await this.read();
    } catch (error) {
      onError(error);
      return this.cached?.value ?? {};
    }
  }

  private async load(): Promise<MetricsSnapshot> {
    const tenants = await this.source.tenantIds();
    const counts = await Promise.all(tenants.map(async (tenant) => [seriesKey([tenant]), await this.source.liveSecrets(tenant)] as const));
    const [queues, audit, tokens, leases, rotations, certificates] = await Promise.all([
      this.queues(),
      this.source.auditChain(),
      this.tokens(),
      this.source.leaseGauges?.() ?? {},
      this.source.keyRotations?.(),
      this.source.certificateGauges(),
    ]);
    const value: MetricsSnapshot = {
      ...leases,
      [METRICS.secrets.name]: Object.fromEntries(counts),
      [METRICS.rotationQueueOldestAge.name]: { '': queues.age.rotation },
      [METRICS.webhookQueueOldestAge.name]: { '': queues.age.webhook },
      [METRICS.jobsOldestAge.name]: Object.fromEntries(JOB_QUEUES.map((queue) => [seriesKey([queue]), queues.age[queue]])),
      [METRICS.jobsQueueDepth.name]: Object.fromEntries(
        JOB_QUEUES.flatMap((queue) => {
          const depth = queues.depth[queue];
          return depth === undefined ? [] : [[seriesKey([queue]), depth.backlog] as const];
        }),
      ),
      ...certificates,
      [METRICS.buildInfo.name]: { [seriesKey([this.version])]: 1 },
      [METRICS.auditLastSeal.name]: { '': audit.lastSealSeconds },
      [METRICS.auditChainDivergence.name]: { '': audit.divergence },
      [METRICS.auditEventsUnsealed.name]: { '': audit.unsealed },
      [METRICS.tokensExpiringSoon.name]: tokens,
      ...(rotations ? keyRotationGauges(rotations) : {}),
    };
    if (audit.headBlock !== undefined) value[METRICS.auditChainHeadBlock.name] = { '': audit.headBlock };
    if (queues.depth.rotation) value[METRICS.rotationQueueDepth.name] = { '': queues.depth.rotation.waiting };
    if (queues.depth.webhook) value[METRICS.webhookQueueDepth.name] = { '': queues.depth.webhook.waiting };
    this.cached = { at: this.now(), value };
    return value;
  }

  private async tokens(): Promise<Record<string, number>> {
    const counts = await Promise.all(
      TOKEN_EXPIRY_WINDOWS.map(async ({ label, seconds }) => [seriesKey([label]), await this.source.tokensExpiringWithin(seconds)]),
    );
    return Object.fromEntries(counts);
  }

  /** Depth (SQS, absent for a queue not configured) and oldest unfinished job's age (the outbox) of every job queue. */
  private async queues(): Promise<{ depth: Partial<Record<JobQueueName, QueueCounts>>; age: Record<JobQueueName, number> }> {
    const read = await Promise.all(
      JOB_QUEUES.map(async (queue) => [queue, await this.source.queueDepth(queue), await this.source.oldestPendingAgeSeconds(queue)] as const),
    );
    return {
      depth: Object.fromEntries(read.map(([queue, depth]) => [queue, depth])) as Partial<Record<JobQueueName, QueueCounts>>,
      age: Object.fromEntries(read.map(([queue, , age]) => [queue, age])) as Record<JobQueueName, number>,
    };
  }
}
