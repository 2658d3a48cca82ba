import type { RateLimitCategory, RateLimitRule } from '../../config.js';
import { DependencyUnavailableError, OutcomeUnknownError, RateLimitedError } from '../errors.js';
import { type MetricsRecorder, NO_METRICS } from '../ports/metrics.js';
import type { RateLimitStore } from '../ports/rate-limit.js';

export interface RateLimitDecision {
  readonly category: RateLimitCategory;
  readonly limit: number;
  readonly remaining: number;
  /** Seconds until the bucket is full again. */
  readonly resetSeconds: number;
  readonly windowSeconds: number;
  /** The shared store was unreachable and the request was admitted without a bucket. */
  readonly degraded?: boolean;
}

/** What one instance knows of one shared bucket. */
interface LocalBucket {
  /** Tokens leased from the shared bucket, spendable until `expiresAt`. */
  available: number;
  sharedRemaining: number;
  expiresAt: number;
  /** Refused by the shared bucket: refuse locally until then, without asking it. */
  deniedUntil: number;
  /** When the shared bucket said it could grant again. */
  retryAt: number;
  /** Arrivals (admitted or not) in the current window and the one before: the instance's demand. */
  windowStart: number;
  arrivals: number;
  previousArrivals: number;
  /** Requests waiting on the refill under way. */
  waiting: number;
}

/** A lease lasts at least this long, and covers about this much of the instance's demand. */
const LEASE_MS = 1000;
/** Nor longer than this, however slow the instance's demand: unspent tokens lapse. */
const MAX_LEASE_MS = 5000;
/** Each grant holds at least 1/50 of a second's refill: at most ~50 bucket writes per second, whatever the fleet's size. */
const GRANTS_PER_REFILL_SECOND = 50;
/** Demand is measured over this window (as long as a lease may last, so slow instances measure below 1/s). */
const DEMAND_WINDOW_MS = MAX_LEASE_MS;
/** The current window's rate counts from this long on, so a ramp shows at once but two close requests are not a flood. */
const RAMP_MIN_MS = 250;
/** A refused instance asks the shared bucket again no sooner than this (plus up to half again, jittered). */
const MIN_DENIAL_HOLD_MS = 500;

/**
 * Token buckets per (category, identity) that live in the shared store, so the
 * whole fleet enforces one limit. An instance leases tokens in batches sized to
 * its own recent demand (about a second's worth, at most 5 % of the burst), and
 * the store grants no batch smaller than 1/50 of a second's refill, so the
 * bucket item sees a bounded number of writes per second at any request rate
 * and any fleet size. Unspent tokens lapse, so the fleet can only under-admit.
 * A refusal is remembered until the bucket could grant again (jittered, at
 * least 500 ms), so a refused flood does not read the item per request. When
 * the store itself is unavailable the limiter fails open (see consume).
 */
export class RateLimiter {
  private readonly buckets = new Map<string, LocalBucket>();
  /** One store round trip per bucket at a time; concurrent callers wait for it. */
  private readonly refills = new Map<string, Promise<void>>();

  constructor(
    private readonly store: RateLimitStore,
    private readonly rules: Readonly<Record<RateLimitCategory, RateLimitRule>>,
    private readonly now: () => number = Date.now,
    private readonly metrics: MetricsRecorder = NO_METRICS,
    private readonly random: () => number = Math.random,
  ) {}

  async consume(category: RateLimitCategory, subject: string): Promise<RateLimitDecision> {
    const rule = this.rules[category];
    const key = `${category}#${subject}`;
    const bucket = this.arrive(key);
    for (;;) {
      const now = this.now();
      if (bucket.available >= 1 && bucket.expiresAt > now) {
        bucket.available -= 1;
        const remaining = Math.floor(bucket.sharedRemaining + bucket.available);
        return { ...this.shape(category, rule), remaining, resetSeconds: Math.ceil((rule.capacity - remaining) / rule.refillPerSecond) };
      }
      if (bucket.deniedUntil > now) {
        throw new RateLimitedError(category, rule.capacity, Math.max(1, Math.ceil((bucket.retryAt - now) / 1000)));
      }
      let refill = this.refills.get(key);
      if (!refill) {
        refill = this.refill(key, bucket, category, subject, rule).finally(() => this.refills.delete(key));
        this.refills.set(key, refill);
      }
      bucket.waiting += 1;
      try {
        await refill.finally(() => (bucket.waiting -= 1));
      } catch (error) {
        // Fail open when the bucket store is down: the request's own storage calls decide
        // its fate, and health and admin endpoints stay usable during an outage.
        if (!(error instanceof DependencyUnavailableError || error instanceof OutcomeUnknownError)) throw error;
        return { ...this.shape(category, rule), remaining: rule.capacity, resetSeconds: 0, degraded: true };
      }
    }
  }

  private shape(category: RateLimitCategory, rule: RateLimitRule) {
    return { category, limit: rule.capacity, windowSeconds: Math.ceil(rule.capacity / rule.refillPerSecond) };
  }

  /** Counts an arrival; returns the key's local bucket. */
  private arrive(key: string): LocalBucket {
    const now = this.now();
    let bucket = this.buckets.get(key);
    if (!bucket) {
      if (this.buckets.size > 50_000) this.buckets.clear();
      bucket = { available: 0, sharedRemaining: 0, expiresAt: 0, deniedUntil: 0, retryAt: 0, windowStart: now, arrivals: 0, previousArrivals: 0, waiting: 0 };
      this.buckets.set(key, bucket);
    }
    const windows = Math.floor((now - bucket.windowStart) / DEMAND_WINDOW_MS);
    if (windows > 0) {
      bucket.previousArrivals = windows === 1 ? bucket.arrivals : 0;
      bucket.arrivals = 0;
      bucket.windowStart += windows * DEMAND_WINDOW_MS;
    }
    bucket.arrivals += 1;
    return bucket;
  }

  /**
   * Arrivals per second: over the last window (sliding-window estimate), or over the
   * current window so far when that is higher (a ramp shows within a second, not five).
   */
  private demand(bucket: LocalBucket): number {
    const elapsed = this.now() - bucket.windowStart;
    const intoWindow = Math.min(1, Math.max(0, elapsed / DEMAND_WINDOW_MS));
    const sliding = ((bucket.arrivals + bucket.previousArrivals * (1 - intoWindow)) * 1000) / DEMAND_WINDOW_MS;
    // The arrival being served is left out, so one request in a quiet window does not read as 1/s.
    const current = ((bucket.arrivals - 1) * 1000) / Math.max(RAMP_MIN_MS, elapsed);
    return Math.max(sliding, current);
  }

  private async refill(key: string, bucket: LocalBucket, category: RateLimitCategory, subject: string, rule: RateLimitRule): Promise<void> {
    // Let requests arriving in the same turn count towards this lease before sizing it.
    await Promise.resolve();
    const demand = this.demand(bucket);
    const largest = Math.max(1, Math.min(Math.floor(rule.capacity * 0.05), Math.floor(rule.refillPerSecond / 2)));
    // A slow instance could not spend a full-size grant before it lapses: it takes what it can spend.
    const spendable = Math.max(1, Math.floor((demand * MAX_LEASE_MS) / 1000));
    const smallest = Math.min(largest, spendable, Math.max(1, Math.ceil(rule.refillPerSecond / GRANTS_PER_REFILL_SECOND)));
    const wanted = Math.min(largest, Math.max(smallest, bucket.waiting, Math.ceil((demand * LEASE_MS) / 1000)));
    const grant = await this.store.take(key, rule, wanted, this.now(), smallest);
    this.metrics.rateLimitLevel(category, subject, grant.remaining);
    const now = this.now();
    if (grant.granted < 1) {
      bucket.available = 0;
      bucket.retryAt = now + grant.retryAfterSeconds * 1000;
      const hold = Math.max(grant.retryAfterSeconds * 1000, MIN_DENIAL_HOLD_MS);
      bucket.deniedUntil = now + Math.min(hold, MAX_LEASE_MS) * (1 + this.random() / 2);
      throw new RateLimitedError(category, rule.capacity, Math.max(1, Math.ceil(grant.retryAfterSeconds)));
    }
    // The lease starts when the grant arrives: a slow store must not hand out already-expired batches.
    const spendMs = demand > 0 ? (grant.granted / demand) * 1000 * 1.5 : LEASE_MS;
    bucket.available = grant.granted;
    bucket.sharedRemaining = grant.remaining;
    bucket.expiresAt = now + Math.min(MAX_LEASE_MS, Math.max(LEASE_MS, spendMs));
    bucket.deniedUntil = 0;
  }
}
