import { describe, expect, it } from 'vitest';
import { InMemoryRateLimitStore } from './support/in-memory-rate-limit-store.js';
import { simulateFleet } from './support/rate-limit-fleet.js';

// One identity over a fleet of instances sharing one bucket (the default read rule,
// 200/s with a burst of 2,000), on a virtual clock: the fleet admits the configured
// rate within 10 %, and the bucket item sees a bounded number of writes per second.
const RULE = { capacity: 2000, refillPerSecond: 200 };

const run = async (requestsPerSecond: number, instances: number) => {
  const store = new InMemoryRateLimitStore();
  return simulateFleet(store, () => ({ reads: store.calls, writes: store.writes }), {
    requestsPerSecond,
    instances,
    seconds: 25,
    warmupSeconds: 10,
    rule: RULE,
  });
};

describe('a fleet of rate limiters on one shared bucket', () => {
  it.each([
    [100, 100],
    [1000, 100],
    [10_000, 100],
    [1000, 1000],
  ])(
    'at %i requests/s over %i instances admits within 10 %% of the expected rate and writes the bucket at most 100 times a second',
    async (rate, instances) => {
      const result = await run(rate, instances);
      expect(Math.abs(result.admittedPerSecond - result.expectedPerSecond) / result.expectedPerSecond).toBeLessThanOrEqual(0.1);
      expect(result.admittedPerSecond).toBeLessThanOrEqual(result.expectedPerSecond * 1.02);
      expect(result.peakWritesPerSecond).toBeLessThanOrEqual(100);
      // A refused flood is answered locally: reads stay a few per instance per second, not one per request.
      expect(result.meanReadsPerSecond).toBeLessThanOrEqual(Math.min(rate, instances * 3));
    },
  );
});
