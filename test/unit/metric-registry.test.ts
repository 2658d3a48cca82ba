import { describe, expect, it } from 'vitest';
import { definitionOf, DURATION_BUCKETS, METRICS } from '../../functions/observability/metric-catalogue.js';
import { isCumulative } from '../../functions/observability/fleet-merge.js';
import { MetricRegistry, seriesKey, seriesLabels, type HistogramValue } from '../../functions/observability/metric-registry.js';

const cumulative = (name: string): boolean => isCumulative(definitionOf(name));
const INF = DURATION_BUCKETS.length;

const histogramOf = (registry: MetricRegistry, name: string, labels: string[]): HistogramValue =>
  registry.snapshot()[name]?.[seriesKey(labels)] as HistogramValue;

/** Index of the only non-empty bucket after observing `seconds` once. */
const bucketOf = (seconds: number): number => {
  const registry = new MetricRegistry();
  registry.observe(METRICS.kmsLatency, ['decrypt'], seconds);
  const buckets = histogramOf(registry, METRICS.kmsLatency.name, ['decrypt']).buckets;
  expect(buckets.reduce((a, b) => a + b, 0)).toBe(1);
  return buckets.indexOf(1);
};

describe('MetricRegistry', () => {
  it('counts by one by default and by any step, per label set', () => {
    const registry = new MetricRegistry();
    registry.inc(METRICS.requests, ['GET', 'secrets', '200']);
    registry.inc(METRICS.requests, ['GET', 'secrets', '200'], 4);
    registry.inc(METRICS.requests, ['PUT', 'secrets', '201']);
    registry.inc(METRICS.keyCacheHits);
    expect(registry.snapshot()).toEqual({
      [METRICS.requests.name]: { [seriesKey(['GET', 'secrets', '200'])]: 5, [seriesKey(['PUT', 'secrets', '201'])]: 1 },
      [METRICS.keyCacheHits.name]: { '': 1 },
    });
  });

  it('sets a gauge to the last value and lets an in-flight gauge go up and down', () => {
    const registry = new MetricRegistry();
    registry.set(METRICS.rateLimitBucketFill, ['read', 'id-1'], 40);
    registry.set(METRICS.rateLimitBucketFill, ['read', 'id-1'], 12);
    registry.inc(METRICS.activeRequests, ['secrets']);
    registry.inc(METRICS.activeRequests, ['secrets']);
    registry.inc(METRICS.activeRequests, ['secrets'], -1);
    const snapshot = registry.snapshot();
    expect(snapshot[METRICS.rateLimitBucketFill.name]).toEqual({ [seriesKey(['read', 'id-1'])]: 12 });
    expect(snapshot[METRICS.activeRequests.name]).toEqual({ secrets: 1 });
  });

  it('puts an observation equal to a bucket bound into that bucket (le is inclusive)', () => {
    DURATION_BUCKETS.forEach((bound, i) => expect(bucketOf(bound)).toBe(i));
    expect(bucketOf(0.001)).toBe(0);
    expect(bucketOf(0.0010001)).toBe(1);
    expect(bucketOf(0)).toBe(0);
    expect(bucketOf(10)).toBe(INF - 1);
  });

  it('puts observations above 10 s into +Inf only', () => {
    expect(bucketOf(10.000001)).toBe(INF);
    expect(bucketOf(3600)).toBe(INF);
  });

  it('keeps sum and count alongside one bucket count per bound plus +Inf', () => {
    const registry = new MetricRegistry();
    for (const seconds of [0.0004, 0.001, 0.3, 12]) registry.observe(METRICS.dbLatency, [], seconds);
    const histogram = histogramOf(registry, METRICS.dbLatency.name, []);
    expect(histogram.buckets).toHaveLength(DURATION_BUCKETS.length + 1);
    expect(histogram.buckets[0]).toBe(2);
    expect(histogram.buckets[DURATION_BUCKETS.indexOf(0.5)]).toBe(1);
    expect(histogram.buckets[INF]).toBe(1);
    expect(histogram.count).toBe(4);
    expect(histogram.sum).toBeCloseTo(12.3014, 10);
  });

  it('hands out snapshots that later recording does not change and that cannot change the registry', () => {
    const registry = new MetricRegistry();
    registry.inc(METRICS.keyCacheMisses);
    registry.observe(METRICS.dbLatency, [], 0.2);
    const first = registry.snapshot();
    registry.inc(METRICS.keyCacheMisses);
    registry.observe(METRICS.dbLatency, [], 0.2);
    expect(first[METRICS.keyCacheMisses.name]).toEqual({ '': 1 });
    expect((first[METRICS.dbLatency.name]?.[''] as HistogramValue).count).toBe(1);

    (first[METRICS.dbLatency.name]?.[''] as HistogramValue).buckets.fill(99);
    const second = registry.snapshot();
    expect((second[METRICS.dbLatency.name]?.[''] as HistogramValue).buckets.reduce((a, b) => a + b, 0)).toBe(2);
  });

  it('runs registered collectors before each snapshot, so pulled gauges are current', () => {
    const registry = new MetricRegistry();
    let entries = 3;
    registry.collect(() => registry.set(METRICS.keyCacheEntries, [], entries));
    expect(registry.snapshot()[METRICS.keyCacheEntries.name]).toEqual({ '': 3 });
    entries = 8;
    expect(registry.snapshot()[METRICS.keyCacheEntries.name]).toEqual({ '': 8 });
  });

  it('subtracts a flushed snapshot from counters and histograms but leaves gauges alone', () => {
    const registry = new MetricRegistry();
    registry.inc(METRICS.secretWrites, ['t1'], 5);
    registry.inc(METRICS.activeRequests, ['secrets'], 2);
    registry.observe(METRICS.kmsLatency, ['encrypt'], 0.002);
    registry.observe(METRICS.kmsLatency, ['encrypt'], 20);
    const flushed = registry.snapshot();

    registry.inc(METRICS.secretWrites, ['t1'], 2);
    registry.inc(METRICS.secretWrites, ['t2']);
    registry.observe(METRICS.kmsLatency, ['encrypt'], 0.002);
    registry.subtract(flushed, cumulative);

    const after = registry.snapshot();
    expect(after[METRICS.secretWrites.name]).toEqual({ t1: 2, t2: 1 });
    expect(after[METRICS.activeRequests.name]).toEqual({ secrets: 2 });
    const histogram = after[METRICS.kmsLatency.name]?.encrypt as HistogramValue;
    expect(histogram.count).toBe(1);
    expect(histogram.sum).toBeCloseTo(0.002, 12);
    expect(histogram.buckets[1]).toBe(1);
    expect(histogram.buckets.reduce((a, b) => a + b, 0)).toBe(1);
  });

  it('ignores series in the subtracted snapshot that it does not hold', () => {
    const registry = new MetricRegistry();
    registry.inc(METRICS.secretWrites, ['t1'], 3);
    registry.subtract({ [METRICS.secretWrites.name]: { t9: 4 }, [METRICS.keyCacheHits.name]: { '': 2 } }, cumulative);
    expect(registry.snapshot()).toEqual({ [METRICS.secretWrites.name]: { t1: 3 } });
  });

  it('keeps 1000 distinct values per label and counts every later new value as other', () => {
    const registry = new MetricRegistry();
    for (let i = 0; i < 1000; i += 1) registry.inc(METRICS.secretWrites, [`t${i}`]);
    registry.inc(METRICS.secretWrites, ['t1000']);
    registry.inc(METRICS.secretWrites, ['t1001'], 2);
    registry.inc(METRICS.secretWrites, ['t0'], 5);
    const series = registry.snapshot()[METRICS.secretWrites.name]!;
    expect(Object.keys(series)).toHaveLength(1001);
    expect(series.other).toBe(3);
    expect(series.t0).toBe(6);
    expect(series.t999).toBe(1);
    expect(series.t1000).toBeUndefined();
  });

  it('limits each label on its own: a full tenant label does not fold other labels', () => {
    const registry = new MetricRegistry();
    for (let i = 0; i < 1001; i += 1) registry.inc(METRICS.secretReads, [`t${i}`, 'kv']);
    registry.inc(METRICS.secretReads, ['t0', 'certificate']);
    const keys = Object.keys(registry.snapshot()[METRICS.secretReads.name]!).map(seriesLabels);
    expect(keys).toContainEqual(['other', 'kv']);
    expect(keys).toContainEqual(['t0', 'certificate']);
  });
});
