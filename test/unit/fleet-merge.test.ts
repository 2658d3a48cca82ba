import { describe, expect, it } from 'vitest';
import { addCumulative, capLabels, EMPTY_BASELINE, mergeFleet, type Baseline, type InstanceRecord } from '../../functions/observability/fleet-merge.js';
import { METRICS } from '../../functions/observability/metric-catalogue.js';
import { emptyHistogram, seriesKey, type HistogramValue, type MetricsSnapshot } from '../../functions/observability/metric-registry.js';

const NOW = 1_000_000;
const OPTIONS = { now: NOW, liveWindowMs: 30_000, latestWindowMs: 300_000 };

const histogram = (bucket: number, count: number, sum: number): HistogramValue => {
  const value = emptyHistogram();
  value.buckets[bucket] = count;
  value.sum = sum;
  value.count = count;
  return value;
};

const instance = (instanceId: string, metrics: MetricsSnapshot, overrides: Partial<InstanceRecord> = {}): InstanceRecord => ({
  instanceId,
  revision: 1,
  startedAt: 0,
  updatedAt: NOW,
  retired: false,
  metrics,
  ...overrides,
});

const baselineOf = (metrics: MetricsSnapshot, folded: Record<string, number> = {}): Baseline => ({
  ...EMPTY_BASELINE,
  revision: 3,
  metrics,
  folded: Object.fromEntries(Object.entries(folded).map(([id, at]) => [id, { at, revision: 1 }])),
});

const R = METRICS.requests.name;
const GET_OK = seriesKey(['GET', 'secrets', '200']);

describe('addCumulative', () => {
  it('adds counters and histograms bucket by bucket into the target and returns it', () => {
    const target: MetricsSnapshot = { [R]: { [GET_OK]: 2 }, [METRICS.dbLatency.name]: { '': histogram(0, 1, 0.0005) } };
    const result = addCumulative(target, {
      [R]: { [GET_OK]: 3, [seriesKey(['PUT', 'secrets', '201'])]: 1 },
      [METRICS.dbLatency.name]: { '': histogram(13, 2, 30) },
    });
    expect(result).toBe(target);
    expect(target[R]).toEqual({ [GET_OK]: 5, [seriesKey(['PUT', 'secrets', '201'])]: 1 });
    const merged = target[METRICS.dbLatency.name]?.[''] as HistogramValue;
    expect(merged.buckets[0]).toBe(1);
    expect(merged.buckets[13]).toBe(2);
    expect(merged.count).toBe(3);
    expect(merged.sum).toBeCloseTo(30.0005, 10);
  });

  it('skips gauges, state series and names outside the catalogue', () => {
    const target = addCumulative(
      {},
      {
        [METRICS.activeRequests.name]: { secrets: 4 },
        [METRICS.secrets.name]: { t1: 9 },
        unknown_metric_total: { '': 1 },
        [METRICS.keyCacheHits.name]: { '': 7 },
      },
    );
    expect(target).toEqual({ [METRICS.keyCacheHits.name]: { '': 7 } });
  });

  it('does not share histogram objects with its source', () => {
    const source: MetricsSnapshot = { [METRICS.dbLatency.name]: { '': histogram(2, 1, 0.004) } };
    const target = addCumulative({}, source);
    addCumulative(target, source);
    expect((source[METRICS.dbLatency.name]?.[''] as HistogramValue).count).toBe(1);
    expect((target[METRICS.dbLatency.name]?.[''] as HistogramValue).count).toBe(2);
  });
});

describe('mergeFleet', () => {
  it('sums the baseline and every instance the baseline has not folded', () => {
    const merged = mergeFleet(
      baselineOf({ [R]: { [GET_OK]: 100 } }, { 'i-folded': NOW - 1000 }),
      [instance('i-a', { [R]: { [GET_OK]: 5 } }), instance('i-b', { [R]: { [GET_OK]: 7 } }), instance('i-folded', { [R]: { [GET_OK]: 1000 } })],
      OPTIONS,
    );
    expect(merged[R]).toEqual({ [GET_OK]: 112 });
  });

  it('counts a retired instance not yet folded exactly once, however old', () => {
    const merged = mergeFleet(baselineOf({}), [instance('i-a', { [R]: { [GET_OK]: 5 } }, { retired: true, updatedAt: 0 })], OPTIONS);
    expect(merged[R]).toEqual({ [GET_OK]: 5 });
  });

  it('sums live gauges only over instances that are not retired and flushed within the window', () => {
    const active = METRICS.activeRequests.name;
    const merged = mergeFleet(
      baselineOf({ [active]: { secrets: 50 } }),
      [
        instance('i-recent', { [active]: { secrets: 2 } }),
        instance('i-edge', { [active]: { secrets: 3 } }, { updatedAt: NOW - OPTIONS.liveWindowMs }),
        instance('i-silent', { [active]: { secrets: 10 } }, { updatedAt: NOW - OPTIONS.liveWindowMs - 1 }),
        instance('i-retired', { [active]: { secrets: 20 } }, { retired: true }),
      ],
      OPTIONS,
    );
    expect(merged[active]).toEqual({ secrets: 5 });
  });

  it('takes the newest value of a latest gauge within its window, dropping older ones', () => {
    const fill = METRICS.rateLimitBucketFill.name;
    const a = seriesKey(['read', 'id-a']);
    const b = seriesKey(['read', 'id-b']);
    const merged = mergeFleet(
      baselineOf({}),
      [
        instance('i-old', { [fill]: { [a]: 1, [b]: 9 } }, { updatedAt: NOW - 2000 }),
        instance('i-new', { [fill]: { [a]: 40 } }, { updatedAt: NOW - 1000 }),
        instance('i-older', { [fill]: { [a]: 2 } }, { updatedAt: NOW - 3000 }),
        instance('i-expired', { [fill]: { [seriesKey(['write', 'id-c'])]: 5 } }, { updatedAt: NOW - OPTIONS.latestWindowMs - 1 }),
      ],
      OPTIONS,
    );
    expect(merged[fill]).toEqual({ [a]: 40, [b]: 9 });
  });

  it("leaves state series out and never shows a folded instance's gauges", () => {
    const merged = mergeFleet(
      baselineOf({}, { 'i-folded': NOW }),
      [
        instance('i-folded', { [METRICS.activeRequests.name]: { secrets: 4 }, [METRICS.rateLimitBucketFill.name]: { [seriesKey(['read', 'x'])]: 3 } }),
        instance('i-a', { [METRICS.secrets.name]: { t1: 3 } }),
      ],
      OPTIONS,
    );
    expect(merged).toEqual({});
  });
});

describe('capLabels', () => {
  const W = METRICS.secretWrites.name;

  it('admits the largest new values while there is room and counts the rest as other', () => {
    const { snapshot, admitted, grew } = capLabels({ [W]: { a: 1, b: 100, c: 50, d: 2 } }, { tenant: ['a'] }, 3);
    expect(snapshot[W]).toEqual({ a: 1, b: 100, c: 50, other: 2 });
    expect(new Set(admitted.tenant)).toEqual(new Set(['a', 'b', 'c']));
    expect(grew).toBe(true);
  });

  it("keeps an admitted value's own series even when it becomes the smallest (no counter turns into other)", () => {
    const { snapshot, grew } = capLabels({ [W]: { a: 1, z: 1000, y: 500 } }, { tenant: ['a', 'b'] }, 2);
    expect(snapshot[W]).toEqual({ a: 1, other: 1500 });
    expect(grew).toBe(false);
  });

  it('never admits the literal value other', () => {
    const { snapshot, admitted } = capLabels({ [W]: { other: 5, a: 1 } }, {}, 5);
    expect(snapshot[W]).toEqual({ other: 5, a: 1 });
    expect(admitted.tenant).toEqual(['a']);
  });

  it('shares the admitted set of a label between counters', () => {
    const reads = METRICS.secretReads.name;
    const { snapshot } = capLabels({ [W]: { a: 5 }, [reads]: { [seriesKey(['b', 'kv'])]: 9, [seriesKey(['a', 'kv'])]: 1 } }, {}, 1);
    expect(snapshot[W]).toEqual({ a: 5 });
    expect(snapshot[reads]).toEqual({ [seriesKey(['other', 'kv'])]: 9, [seriesKey(['a', 'kv'])]: 1 });
  });

  it('keeps the top values of a gauge by size and sums the rest into other, without touching the admitted set', () => {
    const secrets = METRICS.secrets.name;
    const { snapshot, admitted, grew } = capLabels({ [secrets]: { small: 1, big: 30, mid: 10, tiny: 0 } }, { tenant: ['small'] }, 2);
    expect(snapshot[secrets]).toEqual({ big: 30, mid: 10, other: 1 });
    expect(admitted).toEqual({ tenant: ['small'] });
    expect(grew).toBe(false);
  });

  it('caps only the identity label of a two-label gauge', () => {
    const fill = METRICS.rateLimitBucketFill.name;
    const { snapshot } = capLabels(
      { [fill]: { [seriesKey(['read', 'id-a'])]: 10, [seriesKey(['write', 'id-b'])]: 5, [seriesKey(['read', 'id-c'])]: 1 } },
      {},
      2,
    );
    expect(snapshot[fill]).toEqual({ [seriesKey(['read', 'id-a'])]: 10, [seriesKey(['write', 'id-b'])]: 5, [seriesKey(['read', 'other'])]: 1 });
  });

  it('passes series without capped labels through unchanged', () => {
    const input: MetricsSnapshot = { [R]: { [GET_OK]: 3 }, [METRICS.dbLatency.name]: { '': histogram(1, 1, 0.002) } };
    const { snapshot, admitted, grew } = capLabels(input, {}, 1);
    expect(snapshot).toEqual(input);
    expect(admitted).toEqual({});
    expect(grew).toBe(false);
  });
});
