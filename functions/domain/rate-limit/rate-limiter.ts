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

interface Reservation {
  available: number;
  sharedRemaining: number;
  expiresAt: number;
}

/** How long an instance may hold tokens it took from the shared bucket. */
const RESERVATION_MS = 1000;

/**
 * Token buckets per (category, identity) that live in the shared store, so the
 * whole fleet enforces one limit. To keep the store off the hot path an
 * instance takes a small batch of tokens at once (at most 5 % of the burst,
 * never more than half a second of refill) and spends them locally for up to
 * a second; unspent tokens lapse, so the fleet can only under-admit. When the
 * store itself is unavailable the limiter fails open (see consume).
 */
export class RateLimiter {
  private readonly reservations = new Map<string, Reservation>();
  /** One store round trip per bucket at a time; concurrent callers wait for it. */
  private readonly refills = new Map<string, Promise<void>>();

  constructor(
    private readonly store: RateLimitStore,
    private readonly rules: Readonly<Record<RateLimitCategory, RateLimitRule>>,
    private readonly now: () => number = Date.now,
    private readonly metrics: MetricsRecorder = NO_METRICS,
  ) {}

  async consume(category: RateLimitCategory, subject: string): Promise<RateLimitDecision> {
    const rule = this.rules[category];
    const key = `${category}#${subject}`;
    for (;;) {
      const reservation = this.reservations.get(key);
      if (reservation && reservation.available >= 1 && reservation.expiresAt > this.now()) {
        reservation.available -= 1;
        const remaining = Math.floor(reservation.sharedRemaining + reservation.available);
        return {
          category,
          limit: rule.capacity,
          remaining,
          resetSeconds: Math.ceil((rule.capacity - remaining) / rule.refillPerSecond),
          windowSeconds: Math.ceil(rule.capacity / rule.refillPerSecond),
        };
      }
      let refill = this.refills.get(key);
      if (!refill) {
        refill = this.refill(key, category, subject, rule).finally(() => this.refills.delete(key));
        this.refills.set(key, refill);
      }
      try {
        await refill;
      } catch (error) {
        // Fail open when the bucket store is down: the request's own storage calls decide
        // its fate, and health and admin endpoints stay usable during an outage.
        if (!(error instanceof DependencyUnavailableError || error instanceof OutcomeUnknownError)) throw error;
        return {
          category,
          limit: rule.capacity,
          remaining: rule.capacity,
          resetSeconds: 0,
          windowSeconds: Math.ceil(rule.capacity / rule.refillPerSecond),
          degraded: true,
        };
      }
    }
  }

  private async refill(key: string, category: RateLimitCategory, subject: string, rule: RateLimitRule): Promise<void> {
    const now = this.now();
    const wanted = Math.max(1, Math.min(Math.floor(rule.capacity * 0.05), Math.floor(rule.refillPerSecond / 2)));
    const grant = await this.store.take(key, rule, wanted, now);
    this.metrics.rateLimitLevel(category, subject, grant.remaining);
    if (grant.granted < 1) {
      this.reservations.delete(key);
      throw new RateLimitedError(category, rule.capacity, Math.max(1, Math.ceil(grant.retryAfterSeconds)));
    }
    if (this.reservations.size > 50_000) this.reservations.clear();
    // The reservation's second starts when the grant arrives: a slow store must not hand out already-expired batches.
    this.reservations.set(key, { available: grant.granted, sharedRemaining: grant.remaining, expiresAt: this.now() + RESERVATION_MS });
  }
}
