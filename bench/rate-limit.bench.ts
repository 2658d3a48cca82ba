// Issue 16 item 4, rate limits: one identity reading at 100, 1,000 and 10,000 requests/s
// spread over a fleet of instances, each with its own RateLimiter on the real DynamoDB
// bucket store (dynalite), on a virtual clock; the writes per second to the bucket item.
import { DynamoDbRateLimitStore } from '../functions/adapters/dynamodb/dynamodb-rate-limit-store.js';
import { STATE_TABLE } from '../functions/runtime/definitions.js';
import { ensureTable } from '../local/provision.js';
import { DynaliteProcess } from '../test/integration/support/processes.js';
import { simulateFleet } from '../test/unit/support/rate-limit-fleet.js';
import { meteredDynamoDb } from './dynamodb-meter.js';
import { figure, report } from './harness.js';

/** The default read rule: 200 requests/s with a burst of 2,000. */
const RULE = { capacity: 2000, refillPerSecond: 200 };
const CASES: readonly (readonly [rate: number, instances: number])[] = [
  [100, 100],
  [1000, 100],
  [10_000, 100],
];

export const runRateLimitSimulation = async (): Promise<Record<string, number>> => {
  const dynalite = await DynaliteProcess.start();
  const meter = meteredDynamoDb(dynalite.endpoint);
  const results: Record<string, number> = {};
  try {
    await ensureTable(meter.client, STATE_TABLE);
    const store = new DynamoDbRateLimitStore(meter.client, STATE_TABLE.id);
    let reads = 0;
    let writes = 0;
    const counters = () => {
      const { commands } = meter.take();
      reads += commands.GetItemCommand ?? 0;
      writes += commands.PutItemCommand ?? 0;
      return { reads, writes };
    };
    console.log(
      `\nrate limit: one identity, rule ${RULE.refillPerSecond}/s burst ${RULE.capacity}; real DynamoDB store on dynalite, virtual clock, 25 s (10 s warm-up)`,
    );
    for (const [rate, instances] of CASES) {
      const result = await simulateFleet(store, counters, { requestsPerSecond: rate, instances, seconds: 25, warmupSeconds: 10, rule: RULE });
      const off = (result.admittedPerSecond - result.expectedPerSecond) / result.expectedPerSecond;
      const name = `${rate}/s over ${instances} instances`;
      report(
        `rate limit ${name}: bucket writes/s`,
        `${result.peakWritesPerSecond} at the busiest second after warm-up, ${result.meanWritesPerSecond.toFixed(0)} on average over the whole run (warm-up's first leases included)`,
        '≤ 100/s',
        result.peakWritesPerSecond <= 100,
      );
      report(
        `rate limit ${name}: admitted/s`,
        `${result.admittedPerSecond.toFixed(1)} (${(off * 100).toFixed(1)} %)`,
        `${result.expectedPerSecond.toFixed(0)} ± 10 %`,
        Math.abs(off) <= 0.1,
      );
      figure(
        `rate limit ${name}: first second, reads/s`,
        `${result.firstSecondWrites} writes (one lease per instance), ${result.meanReadsPerSecond.toFixed(0)} reads/s`,
      );
      Object.assign(results, {
        [`rate_limit_${rate}_${instances}_peak_writes_per_second`]: result.peakWritesPerSecond,
        [`rate_limit_${rate}_${instances}_admitted_per_second`]: result.admittedPerSecond,
        [`rate_limit_${rate}_${instances}_reads_per_second`]: result.meanReadsPerSecond,
        [`rate_limit_${rate}_${instances}_first_second_writes`]: result.firstSecondWrites,
      });
    }
  } finally {
    meter.client.destroy();
    await dynalite.stop();
  }
  return results;
};
