// One identity's requests spread over a fleet of api instances, each with its own
// RateLimiter on one shared bucket store, on a virtual clock: what the fleet admits
// and how often the bucket item is written.
import type { RateLimitCategory, RateLimitRule } from '../../../functions/config.js';
import { RateLimiter } from '../../../functions/domain/rate-limit/rate-limiter.js';
import type { RateLimitStore } from '../../../functions/domain/ports/rate-limit.js';

export interface FleetSimulation {
  readonly requestsPerSecond: number;
  readonly instances: number;
  readonly seconds: number;
  /** Seconds at the start left out of the admitted rate (the burst capacity is spent there). */
  readonly warmupSeconds: number;
  readonly rule: RateLimitRule;
  readonly seed?: number;
}

export interface SimulationResult {
  /** Admitted per second after the warm-up. */
  readonly admittedPerSecond: number;
  /** What the fleet should admit: the offered rate, or the configured rate when above it. */
  readonly expectedPerSecond: number;
  /** Bucket writes in the busiest whole second after the warm-up, in the first second (every instance's first lease), and on average over the whole run, warm-up included. */
  readonly peakWritesPerSecond: number;
  readonly firstSecondWrites: number;
  readonly meanWritesPerSecond: number;
  readonly meanReadsPerSecond: number;
}

const SLICE_MS = 1;

const seeded = (seed: number) => {
  let state = seed;
  return (): number => {
    state = (state * 1_103_515_245 + 12_345) % 2 ** 31;
    return state / 2 ** 31;
  };
};

const rulesFor = (rule: RateLimitRule): Record<RateLimitCategory, RateLimitRule> => ({ read: rule, write: rule, list: rule, admin: rule, auth: rule });

/** Runs the fleet; `counters` reports the store's reads and writes so far. */
export const simulateFleet = async (
  store: RateLimitStore,
  counters: () => { reads: number; writes: number },
  options: FleetSimulation,
): Promise<SimulationResult> => {
  const random = seeded(options.seed ?? 1);
  let now = 1_800_000_000_000;
  const limiters = Array.from({ length: options.instances }, () => new RateLimiter(store, rulesFor(options.rule), () => now, undefined, random));
  const start = now;
  let admitted = 0;
  let offered = 0;
  const writesPerSecond: number[] = [];
  let lastWrites = counters().writes;
  const readsAtStart = counters().reads;
  // Refusals are thrown errors: skip their stack traces, which would dominate a 10,000/s run.
  const stackTraceLimit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  const subject = `sa:sim-${options.seed ?? 1}-${options.requestsPerSecond}-${options.instances}`;
  try {
    for (let t = 0; t < options.seconds * 1000; t += SLICE_MS) {
      now = start + t;
      const due = Math.floor(((t + SLICE_MS) * options.requestsPerSecond) / 1000) - Math.floor((t * options.requestsPerSecond) / 1000);
      const picked = Array.from({ length: due }, () => limiters[Math.floor(random() * limiters.length)] as RateLimiter);
      const results = await Promise.allSettled(picked.map((limiter) => limiter.consume('read', subject)));
      if (t >= options.warmupSeconds * 1000) {
        offered += due;
        admitted += results.filter((result) => result.status === 'fulfilled').length;
      }
      if ((t + SLICE_MS) % 1000 === 0) {
        const writes = counters().writes;
        writesPerSecond.push(writes - lastWrites);
        lastWrites = writes;
      }
    }
  } finally {
    Error.stackTraceLimit = stackTraceLimit;
  }
  const measured = options.seconds - options.warmupSeconds;
  return {
    admittedPerSecond: admitted / measured,
    expectedPerSecond: Math.min(offered / measured, options.rule.refillPerSecond),
    peakWritesPerSecond: Math.max(...writesPerSecond.slice(options.warmupSeconds)),
    firstSecondWrites: writesPerSecond[0] ?? 0,
    meanWritesPerSecond: writesPerSecond.reduce((a, b) => a + b, 0) / writesPerSecond.length,
    meanReadsPerSecond: (counters().reads - readsAtStart) / options.seconds,
  };
};
