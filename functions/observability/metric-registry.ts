import { DURATION_BUCKETS, bucketsOf, type MetricDefinition } from './metric-catalogue.js';

// One instance's metrics: cumulative counters and histograms since the
// instance started, and its current gauges. Snapshots are plain JSON so they
// can be flushed to the fleet store and merged.

export interface HistogramValue {
  /** Per-bucket (non-cumulative) counts; the last entry is +Inf. */
  readonly buckets: number[];
  sum: number;
  count: number;
}

export type SeriesValue = number | HistogramValue;

/** name → (label values joined by SEPARATOR) → value */
export type MetricsSnapshot = Record<string, Record<string, SeriesValue>>;

export const SEPARATOR = '\u0001';
export const seriesKey = (labels: readonly string[]): string => labels.join(SEPARATOR);
export const seriesLabels = (key: string): string[] => (key === '' ? [] : key.split(SEPARATOR));

/** Distinct values one instance keeps per label before folding the rest into `other`. */
const LOCAL_LABEL_LIMIT = 1000;

export const emptyHistogram = (bounds: readonly number[] = DURATION_BUCKETS): HistogramValue => ({
  buckets: new Array(bounds.length + 1).fill(0),
  sum: 0,
  count: 0,
});

export class MetricRegistry {
  private readonly values = new Map<string, Map<string, SeriesValue>>();
  private readonly seen = new Map<string, Set<string>>();
  private readonly collectors: Array<() => void> = [];

  inc(metric: MetricDefinition, labels: readonly string[] = [], by = 1): void {
    const series = this.series(metric, labels);
    series.map.set(series.key, ((series.map.get(series.key) as number | undefined) ?? 0) + by);
  }

  set(metric: MetricDefinition, labels: readonly string[], value: number): void {
    const series = this.series(metric, labels);
    series.map.set(series.key, value);
  }

  observe(metric: MetricDefinition, labels: readonly string[], seconds: number): void {
    const series = this.series(metric, labels);
    let histogram = series.map.get(series.key) as HistogramValue | undefined;
    if (!histogram) {
      histogram = emptyHistogram(bucketsOf(metric));
      series.map.set(series.key, histogram);
    }
    const bounds = bucketsOf(metric);
    let index = bounds.findIndex((bound) => seconds <= bound);
    if (index === -1) index = bounds.length;
    histogram.buckets[index] = (histogram.buckets[index] ?? 0) + 1;
    histogram.sum += seconds;
    histogram.count += 1;
  }

  /** Registers a callback that refreshes pulled values (cache stats, pools) before each snapshot. */
  collect(collector: () => void): void {
    this.collectors.push(collector);
  }

  snapshot(): MetricsSnapshot {
    for (const collector of this.collectors) collector();
    const snapshot: MetricsSnapshot = {};
    for (const [name, series] of this.values) {
      snapshot[name] = {};
      for (const [key, value] of series) {
        snapshot[name][key] = typeof value === 'number' ? value : { buckets: [...value.buckets], sum: value.sum, count: value.count };
      }
    }
    return snapshot;
  }

  /**
   * Subtracts a snapshot from the cumulative counters and histograms: used when
   * the fleet has folded this instance's flushed totals into its baseline.
   */
  subtract(flushed: MetricsSnapshot, isCumulative: (name: string) => boolean): void {
    for (const [name, series] of Object.entries(flushed)) {
      if (!isCumulative(name)) continue;
      const current = this.values.get(name);
      if (!current) continue;
      for (const [key, value] of Object.entries(series)) {
        const mine = current.get(key);
        if (mine === undefined) continue;
        if (typeof mine === 'number' && typeof value === 'number') current.set(key, mine - value);
        else if (typeof mine !== 'number' && typeof value !== 'number') {
          value.buckets.forEach((count, i) => (mine.buckets[i] = (mine.buckets[i] ?? 0) - count));
          mine.sum -= value.sum;
          mine.count -= value.count;
        }
      }
    }
  }

  private series(metric: MetricDefinition, labels: readonly string[]): { map: Map<string, SeriesValue>; key: string } {
    let map = this.values.get(metric.name);
    if (!map) {
      map = new Map();
      this.values.set(metric.name, map);
    }
    const bounded = labels.map((value, i) => this.bound(metric.labels[i] ?? '', value));
    return { map, key: seriesKey(bounded) };
  }

  private bound(label: string, value: string): string {
    let seen = this.seen.get(label);
    if (!seen) {
      seen = new Set();
      this.seen.set(label, seen);
    }
    if (seen.has(value)) return value;
    if (seen.size >= LOCAL_LABEL_LIMIT) return 'other';
    seen.add(value);
    return value;
  }
}
