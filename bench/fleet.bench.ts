// Issue 16 item 4: fleets of 10, 100 and 1,000 api instances, each holding the series a
// busy instance holds, flush into the real fleet store on dynalite; then what a
// `/v1/metrics` scrape (merge + render) and a remote-write publish cost: time, DynamoDB
// read units (ReturnConsumedCapacity, as dynalite reports it) and bytes read.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DynamoDbFleetMetricsStore } from '../functions/adapters/dynamodb/dynamodb-fleet-metrics-store.js';
import { HttpRemoteWriteSink } from '../functions/adapters/http/http-remote-write-sink.js';
import { renderExposition } from '../functions/observability/exposition.js';
import { FleetMetrics, type FleetMetricsOptions } from '../functions/observability/fleet-metrics.js';
import { MetricRegistry } from '../functions/observability/metric-registry.js';
import { MetricsPublisher } from '../functions/observability/metrics-publisher.js';
import { METRICS_TABLE } from '../functions/runtime/definitions.js';
import { ensureTable } from '../local/provision.js';
import { DynaliteProcess } from '../test/integration/support/processes.js';
import { busyRegistry, seriesCount } from './busy-instance.js';
import { meteredDynamoDb, type MeteredClient, type Usage } from './dynamodb-meter.js';
import { figure, report } from './harness.js';
import { runRateLimitSimulation } from './rate-limit.bench.js';

const FLEETS = [10, 100, 1000] as const;
const LABEL_CAP = 50;
const RUNS = 5;
const VIEW_MAX_AGE_MS = 120_000;
const MB = 1024 * 1024;

interface Cost {
  readonly ms: number;
  readonly usage: Usage;
}

/** One warm-up, then the median time of `RUNS` runs and the usage of one run. */
const measure = async (meter: MeteredClient, task: () => Promise<unknown>): Promise<Cost> => {
  await task();
  const times: number[] = [];
  let usage = meter.take();
  for (let run = 0; run < RUNS; run += 1) {
    meter.take();
    const started = performance.now();
    await task();
    times.push(performance.now() - started);
    usage = meter.take();
  }
  return { ms: [...times].sort((a, b) => a - b)[Math.floor(RUNS / 2)] ?? NaN, usage };
};

const optionsWith = (view?: FleetMetricsOptions['view']): FleetMetricsOptions => ({
  flushIntervalMs: 10_000,
  retireAfterMs: 3_600_000,
  labelCap: LABEL_CAP,
  view,
});

/** Every instance flushes once, 16 at a time, as a busy fleet's flush interval would spread them. */
const flushFleet = async (store: DynamoDbFleetMetricsStore, size: number): Promise<void> => {
  const instances = Array.from({ length: size }, (_, i) => new FleetMetrics(busyRegistry(LABEL_CAP, i + 1), store, optionsWith()));
  let next = 0;
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      while (next < instances.length) await instances[next++]?.flush();
    }),
  );
};

const startDiscardingReceiver = async (): Promise<{ url: string; close: () => void }> => {
  const server = createServer((request, response) => {
    request.resume();
    request.on('end', () => response.writeHead(204).end());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/v1/write`, close: () => server.close() };
};

const describe = (cost: Cost, extra = ''): string =>
  `${cost.ms.toFixed(0)} ms, ${cost.usage.readUnits.toFixed(1)} RCU, ${(cost.usage.responseBytes / 1024).toFixed(0)} KiB read${extra}`;

interface FleetResult {
  readonly merged: Cost;
  readonly view: Cost;
  readonly publish: Cost;
  readonly pushedBytes: number;
}

const measureFleet = async (meter: MeteredClient, size: number, receiverUrl: string): Promise<FleetResult> => {
  const table = { ...METRICS_TABLE, id: `bench-fleet-${size}` };
  await ensureTable(meter.client, table);
  const store = new DynamoDbFleetMetricsStore(meter.client, table.id);
  const flushStarted = performance.now();
  meter.take();
  await flushFleet(store, size);
  const flushed = meter.take();
  figure(`fleet ${size}: flush every instance once`, `${(performance.now() - flushStarted).toFixed(0)} ms, ${flushed.writeUnits.toFixed(0)} WCU`);

  const view = { store, maxAgeMs: VIEW_MAX_AGE_MS };
  const mergingScraper = new FleetMetrics(new MetricRegistry(), store, optionsWith());
  const merged = await measure(meter, async () => renderExposition(await mergingScraper.collect()));
  const scheduler = new FleetMetrics(new MetricRegistry(), store, optionsWith(view));
  const publisher = new MetricsPublisher(new HttpRemoteWriteSink(receiverUrl, 10_000), new MetricRegistry(), console, {
    job: 'scaivault',
    instance: 'bench',
    maxAttempts: 1,
    baseDelayMs: 0,
    maxDelayMs: 0,
  });
  let pushedBytes = 0;
  const publish = await measure(meter, async () => {
    const result = await publisher.publish(await scheduler.collect({ fresh: true }));
    if (!result.ok) throw new Error(`the remote-write receiver answered ${result.status}`);
    pushedBytes = result.bytes;
  });
  const viewScraper = new FleetMetrics(new MetricRegistry(), store, optionsWith(view));
  const served = await measure(meter, async () => renderExposition(await viewScraper.collect()));
  figure(`fleet ${size}: scrape merging every instance (before)`, describe(merged));
  figure(`fleet ${size}: publish (merge, store view, push)`, describe(publish, `, ${(pushedBytes / 1024).toFixed(0)} KiB pushed`));
  return { merged, view: served, publish, pushedBytes };
};

export const runFleetBenchmarks = async (): Promise<Record<string, number>> => {
  const dynalite = await DynaliteProcess.start();
  const receiver = await startDiscardingReceiver();
  const meter = meteredDynamoDb(dynalite.endpoint);
  const results: Record<string, number> = {};
  try {
    console.log(`\nfleet metrics: each instance holds ${seriesCount(busyRegistry(LABEL_CAP))} series (label cap ${LABEL_CAP}); ${RUNS} runs each, median time`);
    const byFleet = new Map<number, FleetResult>();
    for (const size of FLEETS) {
      const result = await measureFleet(meter, size, receiver.url);
      byFleet.set(size, result);
      const { view } = result;
      const unreported = view.usage.unreported + result.publish.usage.unreported;
      if (unreported > 0) figure('  calls without ConsumedCapacity from dynalite', String(unreported));
      report(`fleet ${size}: /v1/metrics scrape (fleet view)`, `${view.ms.toFixed(1)} ms`, '≤ 1000 ms', view.ms <= 1000);
      report(
        `fleet ${size}: scrape reads`,
        `${(view.usage.responseBytes / 1024).toFixed(1)} KiB, ${view.usage.readUnits} RCU`,
        '≤ 1 MB',
        view.usage.responseBytes <= MB,
      );
      Object.assign(results, {
        [`fleet_${size}_scrape_ms`]: view.ms,
        [`fleet_${size}_scrape_read_bytes`]: view.usage.responseBytes,
        [`fleet_${size}_scrape_rcu`]: view.usage.readUnits,
        [`fleet_${size}_merge_scrape_ms`]: result.merged.ms,
        [`fleet_${size}_merge_scrape_read_bytes`]: result.merged.usage.responseBytes,
        [`fleet_${size}_merge_scrape_rcu`]: result.merged.usage.readUnits,
        [`fleet_${size}_publish_ms`]: result.publish.ms,
        [`fleet_${size}_publish_read_bytes`]: result.publish.usage.responseBytes,
        [`fleet_${size}_publish_rcu`]: result.publish.usage.readUnits,
        [`fleet_${size}_publish_pushed_bytes`]: result.pushedBytes,
      });
    }
    const growth = (cost: (r: FleetResult) => number): number => cost(byFleet.get(1000) as FleetResult) / cost(byFleet.get(100) as FleetResult);
    const scrapeGrowth = growth((r) => r.view.usage.responseBytes);
    report('scrape read growth, 100 → 1,000 instances', `×${scrapeGrowth.toFixed(2)}`, '≤ ×10 (linear)', scrapeGrowth <= 10);
    const publishGrowth = growth((r) => r.publish.ms);
    report('publish time growth, 100 → 1,000 instances', `×${publishGrowth.toFixed(2)}`, '≤ ×10 (linear)', publishGrowth <= 10);
    Object.assign(results, { fleet_scrape_read_growth: scrapeGrowth, fleet_publish_time_growth: publishGrowth });
  } finally {
    receiver.close();
    meter.client.destroy();
    await dynalite.stop();
  }
  return { ...results, ...(await runRateLimitSimulation()) };
};
