import { describe, expect, it } from 'vitest';
import type { FleetView, FleetViewStore } from '../../functions/domain/ports/metrics.js';
import { FleetMetrics } from '../../functions/observability/fleet-metrics.js';
import { METRICS } from '../../functions/observability/metric-catalogue.js';
import { MetricRegistry, type MetricsSnapshot } from '../../functions/observability/metric-registry.js';
import { InMemoryFleetMetricsStore } from './support/in-memory-fleet-metrics-store.js';

const HITS = METRICS.keyCacheHits.name;
const MAX_AGE_MS = 60_000;

/** The view item in memory, with the adapter's condition: a view begun earlier never replaces one begun later. */
class InMemoryViewStore implements FleetViewStore {
  view: FleetView | undefined;
  reads = 0;

  async readView(): Promise<FleetView | undefined> {
    this.reads += 1;
    return this.view && structuredClone(this.view);
  }

  async saveView(view: FleetView): Promise<boolean> {
    if (this.view && this.view.builtAt >= view.builtAt) return false;
    this.view = structuredClone(view);
    return true;
  }
}

const hits = (snapshot: MetricsSnapshot): number => (snapshot[HITS]?.[''] as number | undefined) ?? 0;

const fleetOf = () => {
  let now = 1_000_000;
  const time = { now: () => now, advance: (ms: number) => void (now += ms) };
  const store = new InMemoryFleetMetricsStore({ now: time.now });
  const views = new InMemoryViewStore();
  const node = (maxAgeMs = MAX_AGE_MS) => {
    const registry = new MetricRegistry();
    const fleet = new FleetMetrics(registry, store, {
      flushIntervalMs: 10_000,
      retireAfterMs: 120_000,
      labelCap: 50,
      now: time.now,
      view: { store: views, maxAgeMs },
    });
    return { registry, fleet, hit: (by = 1) => registry.inc(METRICS.keyCacheHits, [], by) };
  };
  return { time, store, views, node };
};

describe('FleetMetrics with a fleet view', () => {
  it('serves a scrape from the stored view while it is young, without reading any instance item', async () => {
    const { store, views, node } = fleetOf();
    const [a, b, scheduler] = [node(), node(), node()];
    a.hit(3);
    b.hit(4);
    await a.fleet.flush();
    await b.fleet.flush();
    expect(hits(await scheduler.fleet.collect({ fresh: true }))).toBe(7);
    const fleetReads = store.count('readFleet');

    expect(hits(await a.fleet.collect())).toBe(7);
    expect(hits(await b.fleet.collect())).toBe(7);
    expect(store.count('readFleet')).toBe(fleetReads);
    expect(views.reads).toBe(2);
  });

  it('merges the store again, and stores the result, once the view is older than its max age', async () => {
    const { time, store, views, node } = fleetOf();
    const [a, scraper] = [node(), node()];
    a.hit(5);
    await a.fleet.flush();
    expect(hits(await scraper.fleet.collect())).toBe(5);
    time.advance(MAX_AGE_MS / 2);
    a.hit(2);
    await a.fleet.flush();
    expect(hits(await scraper.fleet.collect())).toBe(5);

    time.advance(MAX_AGE_MS);
    await a.fleet.flush();
    const reads = store.count('readFleet');
    expect(hits(await scraper.fleet.collect())).toBe(7);
    expect(store.count('readFleet')).toBeGreaterThan(reads);
    expect(hits(views.view?.metrics ?? {})).toBe(7);
  });

  it('never replaces a view with one whose merge began earlier', async () => {
    const views = new InMemoryViewStore();
    expect(await views.saveView({ builtAt: 2, metrics: { [HITS]: { '': 9 } } })).toBe(true);
    expect(await views.saveView({ builtAt: 1, metrics: { [HITS]: { '': 4 } } })).toBe(false);
    expect(hits((await views.readView())?.metrics ?? {})).toBe(9);
  });

  it('with a max age of 0 merges on every scrape and never touches the view', async () => {
    const { views, node } = fleetOf();
    const a = node(0);
    a.hit(2);
    await a.fleet.flush();
    expect(hits(await a.fleet.collect())).toBe(2);
    expect(views.reads).toBe(0);
    expect(views.view).toBeUndefined();
  });

  it('never reports a smaller counter as scrapes alternate between the view, stale views and fresh merges', async () => {
    const { time, node } = fleetOf();
    const nodes = [node(), node(), node(), node()];
    let seed = 7;
    const random = () => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    let last = 0;
    for (let step = 0; step < 300; step += 1) {
      const picked = nodes[Math.floor(random() * nodes.length)] ?? nodes[0];
      if (!picked) throw new Error('no node');
      const roll = random();
      if (roll < 0.4) picked.hit(1 + Math.floor(random() * 5));
      else if (roll < 0.6) await picked.fleet.maybeFlush();
      else {
        const seen = hits(await picked.fleet.collect({ fresh: roll > 0.9 }));
        expect(seen).toBeGreaterThanOrEqual(last);
        last = seen;
      }
      time.advance(Math.floor(random() * 8000));
    }
    expect(last).toBeGreaterThan(0);
  });
});
