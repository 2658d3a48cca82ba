import { CAPPED_LABELS, CATALOGUE, OTHER_LABEL_VALUE, type MetricDefinition } from './metric-catalogue.js';
import { seriesKey, seriesLabels, type HistogramValue, type MetricsSnapshot, type SeriesValue } from './metric-registry.js';

// Pure merging of a fleet's flushed metrics. Counters and histograms are the
// baseline (retired instances, folded) plus every instance not yet folded;
// live gauges sum recent instances; `latest` gauges take the newest value.

export interface InstanceRecord {
  readonly instanceId: string;
  /** Flush sequence number of this instance; guards retirement against a concurrent flush. */
  readonly revision: number;
  readonly startedAt: number;
  readonly updatedAt: number;
  readonly retired: boolean;
  readonly metrics: MetricsSnapshot;
}

export interface Baseline {
  readonly revision: number;
  readonly metrics: MetricsSnapshot;
  /** Instances whose totals the baseline already holds: when, and which of their flushes. */
  readonly folded: Readonly<Record<string, FoldedMarker>>;
  /** Values of capped labels that have their own series; all others report as `other`. */
  readonly admitted: Readonly<Record<string, readonly string[]>>;
}

export interface FoldedMarker {
  readonly at: number;
  readonly revision: number;
}

export const EMPTY_BASELINE: Baseline = { revision: 0, metrics: {}, folded: {}, admitted: {} };

export const isCumulative = (definition: MetricDefinition | undefined): boolean => definition !== undefined && definition.source === 'fleet';

const cumulativeNames = new Set(CATALOGUE.filter(isCumulative).map((m) => m.name));

const addValue = (into: Record<string, SeriesValue>, key: string, value: SeriesValue): void => {
  const current = into[key];
  if (typeof value === 'number') {
    into[key] = ((current as number | undefined) ?? 0) + value;
    return;
  }
  // Sized like the value: a histogram's bounds are its metric's (durations, sizes).
  const histogram: HistogramValue = (current as HistogramValue | undefined) ?? { buckets: value.buckets.map(() => 0), sum: 0, count: 0 };
  value.buckets.forEach((count, i) => (histogram.buckets[i] = (histogram.buckets[i] ?? 0) + count));
  histogram.sum += value.sum;
  histogram.count += value.count;
  into[key] = histogram;
};

/** Adds the cumulative series of `snapshot` into `target` (in place). */
export const addCumulative = (target: MetricsSnapshot, snapshot: MetricsSnapshot): MetricsSnapshot => {
  for (const [name, series] of Object.entries(snapshot)) {
    if (!cumulativeNames.has(name)) continue;
    const into = (target[name] ??= {});
    for (const [key, value] of Object.entries(series)) addValue(into, key, value);
  }
  return target;
};

export interface MergeOptions {
  readonly now: number;
  /** Live gauges count instances that flushed within this window. */
  readonly liveWindowMs: number;
  /** `latest` gauges older than this are dropped. */
  readonly latestWindowMs: number;
}

/** The fleet's merged view of every non-state series. */
export const mergeFleet = (baseline: Baseline, instances: readonly InstanceRecord[], options: MergeOptions): MetricsSnapshot => {
  const merged: MetricsSnapshot = addCumulative({}, baseline.metrics);
  const newest: Record<string, Record<string, { value: number; at: number }>> = {};
  for (const instance of instances) {
    if (baseline.folded[instance.instanceId] !== undefined) continue;
    addCumulative(merged, instance.metrics);
    const live = !instance.retired && options.now - instance.updatedAt <= options.liveWindowMs;
    for (const definition of CATALOGUE) {
      const series = instance.metrics[definition.name];
      if (!series) continue;
      if (definition.source === 'live' && live) {
        const into = (merged[definition.name] ??= {});
        for (const [key, value] of Object.entries(series)) addValue(into, key, value);
      } else if (definition.source === 'latest' && options.now - instance.updatedAt <= options.latestWindowMs) {
        const into = (newest[definition.name] ??= {});
        for (const [key, value] of Object.entries(series)) {
          if (typeof value === 'number' && (into[key]?.at ?? -1) < instance.updatedAt) into[key] = { value, at: instance.updatedAt };
        }
      }
    }
  }
  for (const [name, series] of Object.entries(newest)) {
    merged[name] = Object.fromEntries(Object.entries(series).map(([key, { value }]) => [key, value]));
  }
  return merged;
};

const total = (value: SeriesValue): number => (typeof value === 'number' ? value : value.count);

/**
 * Caps user-derived label values (identity, tenant). Cumulative series keep a
 * sticky admitted set, so a series never turns into `other` and back and no
 * counter goes backwards; gauges keep their top `cap` values by size.
 * Returns the capped snapshot and the admitted sets, possibly grown.
 */
export const capLabels = (
  snapshot: MetricsSnapshot,
  admitted: Readonly<Record<string, readonly string[]>>,
  cap: number,
): { snapshot: MetricsSnapshot; admitted: Record<string, string[]>; grew: boolean } => {
  const sets = Object.fromEntries(Object.entries(admitted).map(([label, values]) => [label, new Set(values)]));
  let grew = false;
  const result: MetricsSnapshot = {};
  for (const [name, series] of Object.entries(snapshot)) {
    const definition = CATALOGUE.find((m) => m.name === name);
    const cappedIndexes = (definition?.labels ?? []).map((label, i) => (CAPPED_LABELS.has(label) ? i : -1)).filter((i) => i >= 0);
    if (!definition || cappedIndexes.length === 0) {
      result[name] = series;
      continue;
    }
    const ordered = Object.entries(series).sort(([, a], [, b]) => total(b) - total(a));
    const out: Record<string, SeriesValue> = {};
    const gaugeKept = new Map<number, Set<string>>();
    for (const [key, value] of ordered) {
      const labels = seriesLabels(key);
      for (const index of cappedIndexes) {
        const label = definition.labels[index] ?? '';
        const labelValue = labels[index] ?? '';
        if (isCumulative(definition)) {
          const set = (sets[label] ??= new Set());
          if (!set.has(labelValue)) {
            if (set.size < cap && labelValue !== OTHER_LABEL_VALUE) {
              set.add(labelValue);
              grew = true;
            } else labels[index] = OTHER_LABEL_VALUE;
          }
        } else {
          const kept = gaugeKept.get(index) ?? new Set<string>();
          gaugeKept.set(index, kept);
          if (!kept.has(labelValue) && kept.size >= cap) labels[index] = OTHER_LABEL_VALUE;
          else kept.add(labelValue);
        }
      }
      addValue(out, seriesKey(labels), value);
    }
    result[name] = out;
  }
  return { snapshot: result, admitted: Object.fromEntries(Object.entries(sets).map(([label, set]) => [label, [...set]])), grew };
};
