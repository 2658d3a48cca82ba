import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoDbFleetMetricsStore } from '../../functions/adapters/dynamodb/dynamodb-fleet-metrics-store.js';
import { FleetMetrics } from '../../functions/observability/fleet-metrics.js';
import { METRICS } from '../../functions/observability/metric-catalogue.js';
import { MetricRegistry, type MetricsSnapshot } from '../../functions/observability/metric-registry.js';
import { METRICS_TABLE } from '../../functions/runtime/definitions.js';
import { ensureTable } from '../../local/provision.js';
import { DynaliteProcess } from './support/processes.js';

const HITS = METRICS.keyCacheHits.name;
const hits = (snapshot: MetricsSnapshot | undefined): number => (snapshot?.[HITS]?.[''] as number | undefined) ?? 0;

// The fleet view on dynalite: one item a scrape reads whatever the fleet's size,
// replaced only by a view whose merge began later.
describe('the fleet view in the DynamoDB fleet store', () => {
  let dynalite: DynaliteProcess;
  let client: DynamoDBClient;
  let store: DynamoDbFleetMetricsStore;

  beforeAll(async () => {
    dynalite = await DynaliteProcess.start();
    client = new DynamoDBClient({ endpoint: dynalite.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'x' } });
    await ensureTable(client, METRICS_TABLE);
    store = new DynamoDbFleetMetricsStore(client, METRICS_TABLE.id);
  });

  afterAll(async () => {
    client.destroy();
    await dynalite.stop();
  });

  it('stores and reads a view, and refuses one whose merge began earlier than the stored one', async () => {
    expect(await store.readView()).toBeUndefined();
    expect(await store.saveView({ builtAt: 2000, metrics: { [HITS]: { '': 9 } } })).toBe(true);
    expect(await store.saveView({ builtAt: 1000, metrics: { [HITS]: { '': 4 } } })).toBe(false);
    expect(await store.saveView({ builtAt: 2000, metrics: { [HITS]: { '': 5 } } })).toBe(false);
    expect(await store.readView()).toEqual({ builtAt: 2000, metrics: { [HITS]: { '': 9 } } });
    expect((await store.readFleet()).instances).toEqual([]);
  });

  it("serves scrapes the scheduler's merge of every instance until the view is older than its max age", async () => {
    let now = Date.now();
    const node = () => {
      const registry = new MetricRegistry();
      const fleet = new FleetMetrics(registry, store, {
        flushIntervalMs: 10_000,
        retireAfterMs: 600_000,
        labelCap: 50,
        now: () => now,
        view: { store, maxAgeMs: 60_000 },
      });
      return { registry, fleet };
    };
    const instances = [node(), node(), node()];
    instances.forEach(({ registry }, i) => registry.inc(METRICS.keyCacheHits, [], i + 1));
    await Promise.all(instances.map(({ fleet }) => fleet.flush()));
    expect(hits(await node().fleet.collect({ fresh: true }))).toBe(6);

    instances[0]?.registry.inc(METRICS.keyCacheHits, [], 10);
    await instances[0]?.fleet.flush();
    expect(hits(await instances[1]?.fleet.collect())).toBe(6);
    now += 61_000;
    expect(hits(await instances[1]?.fleet.collect())).toBe(16);
    expect(hits((await store.readView())?.metrics)).toBe(16);
  });
});
