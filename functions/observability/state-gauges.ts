import { progressRatio, sealedItemCounts } from '../domain/crypto/key-rotation.js';
import type { KeyRotation } from '../domain/ports/keys.js';
import { METRICS } from './metric-catalogue.js';
import { seriesKey, type MetricsSnapshot } from './metric-registry.js';

/** Reads of the source of truth behind the `state` gauges. */
export interface StateSource {
  tenantIds(): Promise<string[]>;
  liveSecrets(tenantId: string): Promise<number>;
  queueDepth(queue: 'rotation' | 'webhook'): Promise<number | undefined>;
  oldestPendingAgeSeconds(queue: 'rotation' | 'webhook'): Promise<number>;
  /** The newest block's seal time (Unix seconds, 0 before the first) and the divergence gauge. */
  auditChain(): Promise<{ lastSealSeconds: number; divergence: number }>;
  /** Dynamic secrets' gauges (leases active, irrevocable, oldest age; engine health), by engine. */
  leaseGauges?(): Promise<MetricsSnapshot>;
  /** Every tenant's latest data-key rotation (absent: no rotation gauges). */
  keyRotations?(): Promise<KeyRotation[]>;
  /** The PKI's gauges (certificates active and expiring, CA expiry, CRL age), read from the inventory's expiry index. */
  certificateGauges(): Promise<MetricsSnapshot>;
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
    const [rotationDepth, webhookDepth, rotationAge, webhookAge, audit, leases, rotations, certificates] = await Promise.all([
      this.source.queueDepth('rotation'),
      this.source.queueDepth('webhook'),
      this.source.oldestPendingAgeSeconds('rotation'),
      this.source.oldestPendingAgeSeconds('webhook'),
      this.source.auditChain(),
      this.source.leaseGauges?.() ?? {},
      this.source.keyRotations?.(),
      this.source.certificateGauges(),
    ]);
    const value: MetricsSnapshot = {
      ...leases,
      [METRICS.secrets.name]: Object.fromEntries(counts),
      [METRICS.rotationQueueOldestAge.name]: { '': rotationAge },
      [METRICS.webhookQueueOldestAge.name]: { '': webhookAge },
      ...certificates,
      [METRICS.buildInfo.name]: { [seriesKey([this.version])]: 1 },
      [METRICS.auditLastSeal.name]: { '': audit.lastSealSeconds },
      [METRICS.auditChainDivergence.name]: { '': audit.divergence },
      ...(rotations ? keyRotationGauges(rotations) : {}),
    };
    if (rotationDepth !== undefined) value[METRICS.rotationQueueDepth.name] = { '': rotationDepth };
    if (webhookDepth !== undefined) value[METRICS.webhookQueueDepth.name] = { '': webhookDepth };
    this.cached = { at: this.now(), value };
    return value;
  }
}
