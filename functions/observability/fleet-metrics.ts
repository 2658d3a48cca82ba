import { randomUUID } from 'node:crypto';
import { describeError } from '../domain/errors.js';
import { addCumulative, capLabels, isCumulative, mergeFleet, type Baseline, type InstanceRecord } from './fleet-merge.js';
import { definitionOf } from './metric-catalogue.js';
import type { MetricRegistry, MetricsSnapshot } from './metric-registry.js';
import type { Logger } from './logger.js';
import type { FleetMetricsStore, FleetViewStore } from '../domain/ports/metrics.js';

/** The instance's item was retired (folded into the baseline) by a scraper. */
export class InstanceRetiredError extends Error {
  override readonly name = 'InstanceRetiredError';
}

export interface FleetMetricsOptions {
  /** At most one flush per instance per interval. */
  readonly flushIntervalMs: number;
  /** Instances silent this long are folded into the baseline. */
  readonly retireAfterMs: number;
  readonly labelCap: number;
  readonly now?: () => number;
  /**
   * The fleet view: a merged snapshot the scheduler (or a scrape finding it stale)
   * stores, so a scrape reads one item instead of every instance's. Absent or a
   * max age of 0: every scrape merges the fleet store itself.
   */
  readonly view?: { readonly store: FleetViewStore; readonly maxAgeMs: number };
}

interface Flushed {
  readonly revision: number;
  readonly snapshot: MetricsSnapshot;
}

const NOTHING_FLUSHED: Flushed = { revision: 0, snapshot: {} };

/** Folded-instance markers are kept this long, well past any possible late flush. */
const FOLDED_MARKER_TTL_MS = 24 * 3600 * 1000;
const MAX_FOLDS_PER_SCRAPE = 25;

const isCumulativeName = (name: string): boolean => isCumulative(definitionOf(name));

/**
 * Fleet-correct metrics: each instance flushes its cumulative state at a bounded
 * rate; a scrape merges every instance's *flushed* state with the baseline,
 * folding instances that went silent into it. Every scraper therefore sees the
 * same store, and totals never go backwards as instances come and go or as
 * scrapes land on different instances.
 *
 * Folding never double-counts or loses a flush: a scraper first freezes the
 * instance item (retired, only at the revision it read), then adds it to the
 * baseline with a marker naming that revision, then deletes it. An instance that
 * finds itself retired subtracts exactly the flush that was folded (even one
 * whose reply it never saw) and carries on under a new id.
 */
export class FleetMetrics {
  private instanceId = newInstanceId();
  private readonly startedAt: number;
  private lastFlushAt = 0;
  /** The last flush known to have landed. */
  private confirmed: Flushed = NOTHING_FLUSHED;
  /** A flush whose outcome is unknown (an error after sending): it may have landed. */
  private unconfirmed: Flushed | undefined;
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

  /**
   * Writes the state as it is now: a flush already under way may carry an older snapshot, so
   * it is waited out first (its outcome is its own caller's), then this one is written.
   */
  async flushNow(): Promise<void> {
    await this.flushing?.catch(() => undefined);
    await this.flush();
  }

  /** Writes this instance's cumulative state (one PutItem), serialized per instance; joins a flush under way. */
  flush(): Promise<void> {
    this.flushing ??= this.doFlush().finally(() => {
      this.flushing = undefined;
    });
    return this.flushing;
  }

  /**
   * The fleet's merged series (state gauges excluded). From the fleet view while it
   * is younger than its max age, else (or with `fresh`) merged from the store,
   * folding silent instances, and stored as the new view.
   */
  async collect(options: { readonly fresh?: boolean } = {}): Promise<MetricsSnapshot> {
    await this.maybeFlush();
    const view = this.options.view;
    if (!view || view.maxAgeMs <= 0) return this.mergeStore();
    if (!options.fresh) {
      const stored = await view.store.readView();
      if (stored && this.now() - stored.builtAt <= view.maxAgeMs) return stored.metrics;
    }
    const builtAt = this.now();
    const merged = await this.mergeStore();
    // Refused only when a view merged later is stored: it holds at least these totals.
    await view.store.saveView({ builtAt, metrics: merged });
    return merged;
  }

  /** Every instance's flushed state merged with the baseline, after folding silent instances. */
  private async mergeStore(): Promise<MetricsSnapshot> {
    let { baseline, instances } = await this.store.readFleet();
    const mine = instances.find((instance) => instance.instanceId === this.instanceId);
    if (this.confirmed.revision > 0 && (!mine || mine.retired)) {
      // Someone folded our last flush while we were idle: flushing notices and rebases us.
      await this.flush();
      ({ baseline, instances } = await this.store.readFleet());
    }
    const now = this.now();
    const stale = instances
      .filter((i) => i.instanceId !== this.instanceId && (i.retired || now - i.updatedAt > this.options.retireAfterMs))
      .slice(0, MAX_FOLDS_PER_SCRAPE);
    for (const instance of stale) baseline = await this.fold(baseline, instance, now);

    const merged = mergeFleet(baseline, instances, {
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
    const revision = Math.max(this.confirmed.revision, this.unconfirmed?.revision ?? 0) + 1;
    const record: InstanceRecord = {
      instanceId: this.instanceId,
      revision,
      startedAt: this.startedAt,
      updatedAt: this.now(),
      retired: false,
      metrics: snapshot,
    };
    const first = this.confirmed.revision === 0 && this.unconfirmed === undefined;
    const attempt: Flushed = { revision, snapshot };
    try {
      await this.store.putInstance(record, first);
    } catch (error) {
      if (!(error instanceof InstanceRetiredError)) {
        // Sent but unanswered: it may have landed, and may yet be what a scraper folds.
        this.unconfirmed = attempt;
        // Wait a full interval before trying again, so an outage does not add a write to every request.
        this.lastFlushAt = record.updatedAt;
        throw error;
      }
      // A refused put did not land; what was folded is an earlier flush.
      await this.rebase();
      return this.doFlush();
    }
    this.confirmed = attempt;
    this.unconfirmed = undefined;
    this.lastFlushAt = record.updatedAt;
  }

  /** Our item was folded: keep only what came after the folded flush, under a new id. */
  private async rebase(): Promise<void> {
    const { baseline, instances } = await this.store.readFleet();
    const item = instances.find((i) => i.instanceId === this.instanceId);
    // The folded revision is in the baseline's marker, or on the frozen item a scraper has yet to fold.
    const foldedRevision = baseline.folded[this.instanceId]?.revision ?? (item?.retired ? item.revision : undefined);
    const candidates = [this.unconfirmed, this.confirmed].filter((f): f is Flushed => f !== undefined);
    const folded =
      foldedRevision === undefined
        ? // Nothing of ours is stored or folded: none of our flushes ever landed.
          undefined
        : (candidates.find((f) => f.revision === foldedRevision) ?? this.confirmed);
    if (folded) this.registry.subtract(folded.snapshot, isCumulativeName);
    this.instanceId = newInstanceId();
    this.confirmed = NOTHING_FLUSHED;
    this.unconfirmed = undefined;
  }

  private async fold(baseline: Baseline, instance: InstanceRecord, now: number): Promise<Baseline> {
    if (baseline.folded[instance.instanceId] === undefined) {
      if (!instance.retired && !(await this.store.retireInstance(instance.instanceId, instance.revision))) return baseline;
      for (let attempt = 0; attempt < 5; attempt += 1) {
        const folded = Object.fromEntries(Object.entries(baseline.folded).filter(([, marker]) => now - marker.at < FOLDED_MARKER_TTL_MS));
        folded[instance.instanceId] = { at: now, revision: instance.revision };
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

/** A flush that never fails its caller: a failure is logged, and the next flush carries the totals. `now` skips the interval. */
export const flushQuietly = async (fleet: Pick<FleetMetrics, 'flushNow' | 'maybeFlush'>, logger: Pick<Logger, 'warn'>, now = false): Promise<void> => {
  await (now ? fleet.flushNow() : fleet.maybeFlush()).catch((error: unknown) => logger.warn('metrics flush failed', { error: describeError(error) }));
};
