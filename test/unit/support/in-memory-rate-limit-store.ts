import type { RateLimitRule } from '../../../functions/config.js';
import type { RateLimitGrant, RateLimitStore } from '../../../functions/domain/ports/rate-limit.js';

/**
 * A real token bucket per key, like the DynamoDB store: refill by elapsed time,
 * never above capacity, no grant below `minimum`; counts reads (every call) and
 * writes (every grant), as the adapter's GetItem and conditional PutItem.
 */
export class InMemoryRateLimitStore implements RateLimitStore {
  calls = 0;
  writes = 0;
  private readonly buckets = new Map<string, { tokens: number; updatedAt: number }>();

  async take(bucketKey: string, rule: RateLimitRule, wanted: number, nowMs: number, minimum = 1): Promise<RateLimitGrant> {
    this.calls += 1;
    const stored = this.buckets.get(bucketKey);
    const elapsed = stored ? Math.max(0, nowMs - stored.updatedAt) / 1000 : 0;
    const level = stored ? Math.min(rule.capacity, stored.tokens + elapsed * rule.refillPerSecond) : rule.capacity;
    const granted = Math.min(wanted, Math.floor(level));
    const least = Math.max(1, minimum);
    if (granted < least) return { granted: 0, remaining: level, retryAfterSeconds: (least - level) / rule.refillPerSecond };
    this.writes += 1;
    this.buckets.set(bucketKey, { tokens: level - granted, updatedAt: Math.max(nowMs, stored?.updatedAt ?? 0) });
    return { granted, remaining: level - granted, retryAfterSeconds: 0 };
  }
}
