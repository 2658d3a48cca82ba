import { randomUUID } from 'node:crypto';
import { addCumulative, capLabels, EMPTY_BASELINE, isCumulative, mergeFleet, type Baseline, type InstanceRecord } from './fleet-merge.js';
import { definitionOf } from './metric-catalogue.js';
import type { MetricRegistry, MetricsSnapshot } from './metric-registry.js';

/** The instance's item was retired (folded into the baseline) by a scraper. */
export class InstanceRetiredError extends Error {
  override readonly name = 'InstanceRetiredError';
}

/** Persistence of the fleet's metrics: one item per instance plus a baseline. */
export interface FleetMetricsStore {
  /** First flush creates the item; later ones succeed only while it exists and is not retired. */
  putInstance(record: InstanceRecord, first: boolean): Promise<void>;
  readFleet(): Promise<{ baseline: Baseline; instances: InstanceRecord[] }>;
  /** Marks an instance retired if it still holds `revision`; false when it moved on. */
  retireInstance(instanceId: string, revision: number): Promise<boolean>;
  /** Replaces the baseline if it is still at `expectedRevision`; false on a lost race. */
  saveBaseline(baseline: Baseline, expectedRevision: number): Promise<boolean>;
  deleteInstance(instanceId: string): Promise<void>;
}

export interface FleetMetricsOptions {
  /** At most one flush per instance per interval. */
  readonly flushIntervalMs: number;
  /** Instances silent this long are folded into the baseline. */
  readonly retireAfterMs: number;
  readonly labelCap: number;
  readonly now?: () => number;
}

/** Folded-instance markers are kept this long, well past any possible late flush. */
const FOLDED_MARKER_TTL_MS = 24 * 3600 * 1000;
const MAX_FOLDS_PER_SCRAPE = 25;

const isCumulativeName = (name: string): boolean => isCumulative(definitionOf(name));

/**
 * Fleet-correct metrics: each instance flushes its cumulative state at a bounded
 * rate; a scrape merges every instance with the baseline, folding instances
 * that went silent into it, so totals never go backwards when instances come
 * and go.
 *
 * Folding never double-counts or loses a flush: a scraper first freezes the
 * instance item (retired, only at the revision it read), then adds it to the
 * baseline together with a marker, then deletes it; an instance whose item was
 * frozen subtracts what it had flushed and carries on under a new id.
 */
export class FleetMetrics {
  private instanceId = newInstanceId();
  private readonly startedAt: number;
  private revision = 0;
  private lastFlushAt = 0;
  private lastFlushed: MetricsSnapshot = {};
  private flushing: Promise<void> | undefined;
  private readonly now: () => number;

  constructor(
    private readonly registry: MetricRegistry,
    private readonly store: FleetMetricsStore,
    private readonly options: FleetMetricsOptions,
  ) {
    this.now = options.now ?? Date.now;
    this.startedAt = this.now();
  }

  get id(): string {
    return this.instanceId;
  }

  /** Flushes if the interval has passed; cheap to call after every request. */
  async maybeFlush(): Promise<void> {
    if (this.now() - this.lastFlushAt < this.options.flushIntervalMs) return;
    await this.flush();
  }

  /** Writes this instance's cumulative state (one PutItem), serialized per instance. */
  flush(): Promise<void> {
    this.flushing ??= this.doFlush().finally(() => {
      this.flushing = undefined;
    });
    return this.flushing;
  }

  /** The fleet's merged series (state gauges excluded), after folding silent instances. */
  async collect(): Promise<MetricsSnapshot> {
    const now = this.now();
    const { baseline: stored, instances } = await this.store.readFleet();
    let baseline = stored;
    const mine = instances.find((instance) => instance.instanceId === this.instanceId);
    if (this.revision > 0 && (!mine || mine.retired || baseline.folded[this.instanceId] !== undefined)) {
      // Someone folded our last flush while we were idle: flushing notices and rebases us.
      await this.flush();
    }
    const others = instances.filter((instance) => instance.instanceId !== this.instanceId);
    const stale = others.filter((i) => i.retired || now - i.updatedAt > this.options.retireAfterMs).slice(0, MAX_FOLDS_PER_SCRAPE);
    for (const instance of stale) baseline = await this.fold(baseline, instance, now);

    const live: InstanceRecord = {
      instanceId: this.instanceId,
      revision: this.revision,
      startedAt: this.startedAt,
      updatedAt: now,
      retired: false,
      metrics: this.registry.snapshot(),
    };
    const active = others.filter((i) => baseline.folded[i.instanceId] === undefined);
    const merged = mergeFleet(baseline, [...active, live], {
      now,
      liveWindowMs: Math.max(3 * this.options.flushIntervalMs, 30_000),
      latestWindowMs: this.options.retireAfterMs,
    });
    const capped = capLabels(merged, baseline.admitted, this.options.labelCap);
    if (capped.grew) {
      // Persist newly admitted label values so every scraper renders the same series.
      await this.store.saveBaseline({ ...baseline, revision: baseline.revision + 1, admitted: capped.admitted }, baseline.revision);
    }
    return capped.snapshot;
  }

  private async doFlush(): Promise<void> {
    const snapshot = this.registry.snapshot();
    const record: InstanceRecord = {
      instanceId: this.instanceId,
      revision: this.revision + 1,
      startedAt: this.startedAt,
      updatedAt: this.now(),
      retired: false,
      metrics: snapshot,
    };
    try {
      await this.store.putInstance(record, this.revision === 0);
    } catch (error) {
      if (!(error instanceof InstanceRetiredError)) throw error;
      // Our last flush now lives in the baseline: keep only what came after it, under a new id.
      this.registry.subtract(this.lastFlushed, isCumulativeName);
      this.instanceId = newInstanceId();
      this.revision = 0;
      this.lastFlushed = {};
      return this.doFlush();
    }
    this.revision = record.revision;
    this.lastFlushed = snapshot;
    this.lastFlushAt = record.updatedAt;
  }

  private async fold(baseline: Baseline, instance: InstanceRecord, now: number): Promise<Baseline> {
    if (baseline.folded[instance.instanceId] === undefined) {
      if (!instance.retired && !(await this.store.retireInstance(instance.instanceId, instance.revision))) return baseline;
      for (let attempt = 0; attempt < 5; attempt += 1) {
        const folded = Object.fromEntries(Object.entries(baseline.folded).filter(([, at]) => now - at < FOLDED_MARKER_TTL_MS));
        folded[instance.instanceId] = now;
        const summed = addCumulative(addCumulative({}, baseline.metrics), instance.metrics);
        const capped = capLabels(summed, baseline.admitted, this.options.labelCap);
        const next: Baseline = { revision: baseline.revision + 1, metrics: capped.snapshot, folded, admitted: capped.admitted };
        if (await this.store.saveBaseline(next, baseline.revision)) {
          baseline = next;
          break;
        }
        baseline = (await this.store.readFleet()).baseline;
        if (baseline.folded[instance.instanceId] !== undefined) break;
      }
      if (baseline.folded[instance.instanceId] === undefined) return baseline;
    }
    await this.store.deleteInstance(instance.instanceId);
    return baseline;
  }
}

const newInstanceId = (): string => `i-${randomUUID().replaceAll('-', '').slice(0, 20)}`;

