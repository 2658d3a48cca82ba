import { describe, expect, it } from 'vitest';
import type { RateLimitCategory, RateLimitRule } from '../../functions/config.js';
import { RateLimitedError } from '../../functions/domain/errors.js';
import { RateLimiter } from '../../functions/domain/rate-limit/rate-limiter.js';
import { InMemoryRateLimitStore } from './support/in-memory-rate-limit-store.js';

const rules = (read: RateLimitRule): Record<RateLimitCategory, RateLimitRule> => ({
  read,
  write: { capacity: 10, refillPerSecond: 1 },
  list: { capacity: 10, refillPerSecond: 1 },
  admin: { capacity: 10, refillPerSecond: 1 },
  auth: { capacity: 10, refillPerSecond: 1 },
});

const fixedClock = (start = 1_700_000_000_000) => {
  let now = start;
  return {
    now: () => now,
    advance: (ms: number) => {
      now += ms;
    },
  };
};

/** Consumes until refused; returns how many were admitted and the refusal. */
const drain = async (limiter: RateLimiter, subject = 'sa:app', max = 10_000) => {
  for (let admitted = 0; admitted < max; admitted += 1) {
    try {
      await limiter.consume('read', subject);
    } catch (error) {
      return { admitted, error };
    }
  }
  throw new Error('never refused');
};

describe('RateLimiter', () => {
  it('admits a full bucket, then refuses with RateLimitedError and a retry-after of at least 1 s', async () => {
    const clock = fixedClock();
    const limiter = new RateLimiter(new InMemoryRateLimitStore(), rules({ capacity: 20, refillPerSecond: 100 }), clock.now);
    const { admitted, error } = await drain(limiter);
    expect(admitted).toBe(20);
    expect(error).toBeInstanceOf(RateLimitedError);
    const limited = error as RateLimitedError;
    expect(limited.category).toBe('read');
    expect(limited.limit).toBe(20);
    expect(limited.retryAfterSeconds).toBeGreaterThanOrEqual(1);
    expect(Number.isInteger(limited.retryAfterSeconds)).toBe(true);
  });

  it('rounds retry-after up to whole seconds for slow refill', async () => {
    const clock = fixedClock();
    // 3 per minute: the next token is 20 s away.
    const limiter = new RateLimiter(new InMemoryRateLimitStore(), rules({ capacity: 3, refillPerSecond: 3 / 60 }), clock.now);
    const { admitted, error } = await drain(limiter);
    expect(admitted).toBe(3);
    expect((error as RateLimitedError).retryAfterSeconds).toBe(20);
  });

  it('admits again once time has refilled the bucket', async () => {
    const clock = fixedClock();
    const limiter = new RateLimiter(new InMemoryRateLimitStore(), rules({ capacity: 10, refillPerSecond: 2 }), clock.now);
    expect((await drain(limiter)).admitted).toBe(10);
    clock.advance(400);
    await expect(limiter.consume('read', 'sa:app')).rejects.toBeInstanceOf(RateLimitedError);
    clock.advance(1_100);
    // 1.5 s at 2/s: three tokens.
    expect((await drain(limiter)).admitted).toBe(3);
    clock.advance(60_000);
    // Refill stops at capacity.
    expect((await drain(limiter)).admitted).toBe(10);
  });

  it('keeps separate buckets per subject and per category', async () => {
    const clock = fixedClock();
    const limiter = new RateLimiter(new InMemoryRateLimitStore(), rules({ capacity: 5, refillPerSecond: 1 }), clock.now);
    expect((await drain(limiter, 'sa:a')).admitted).toBe(5);
    expect((await drain(limiter, 'sa:b')).admitted).toBe(5);
    await expect(limiter.consume('write', 'sa:a')).resolves.toMatchObject({ category: 'write', limit: 10 });
  });

  it('takes tokens in batches sized to its demand: a steady 100 requests/s reaches the store about once a second', async () => {
    const clock = fixedClock();
    const store = new InMemoryRateLimitStore();
    const limiter = new RateLimiter(store, rules({ capacity: 10_000, refillPerSecond: 1000 }), clock.now);
    for (let i = 0; i < 1000; i += 1) {
      await limiter.consume('read', 'sa:app');
      clock.advance(10);
    }
    const warm = store.writes;
    for (let i = 0; i < 1000; i += 1) {
      await limiter.consume('read', 'sa:app');
      clock.advance(10);
    }
    // 10 s at 100/s after a 10 s ramp: about one lease a second.
    expect(store.writes - warm).toBeLessThanOrEqual(15);
  });

  it('makes concurrent requests on one instance share one store round trip', async () => {
    const clock = fixedClock();
    const store = new InMemoryRateLimitStore();
    const limiter = new RateLimiter(store, rules({ capacity: 100, refillPerSecond: 100 }), clock.now);
    await Promise.all(Array.from({ length: 5 }, () => limiter.consume('read', 'sa:app')));
    expect(store.calls).toBe(1);
  });

  it('refuses every concurrent waiter when the shared refill is refused', async () => {
    const clock = fixedClock();
    const limiter = new RateLimiter(new InMemoryRateLimitStore(), rules({ capacity: 1, refillPerSecond: 0.1 }), clock.now);
    const results = await Promise.allSettled(Array.from({ length: 4 }, () => limiter.consume('read', 'sa:app')));
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    for (const result of results.filter((r) => r.status === 'rejected')) {
      expect((result as PromiseRejectedResult).reason).toBeInstanceOf(RateLimitedError);
    }
  });

  it('reports the limit and the remaining tokens, counting its local batch', async () => {
    const clock = fixedClock();
    const limiter = new RateLimiter(new InMemoryRateLimitStore(), rules({ capacity: 100, refillPerSecond: 10 }), clock.now);
    const first = await limiter.consume('read', 'sa:app');
    expect(first).toMatchObject({ category: 'read', limit: 100, remaining: 99, windowSeconds: 10 });
    expect(first.resetSeconds).toBe(1);
    const second = await limiter.consume('read', 'sa:app');
    expect(second.remaining).toBe(98);
  });

  it('never lets two instances sharing a store admit more than the capacity in one instant', async () => {
    const clock = fixedClock();
    const store = new InMemoryRateLimitStore();
    const rule = rules({ capacity: 100, refillPerSecond: 100 });
    const a = new RateLimiter(store, rule, clock.now);
    const b = new RateLimiter(store, rule, clock.now);
    let admitted = 0;
    let refusedA = false;
    let refusedB = false;
    while (!refusedA || !refusedB) {
      await a.consume('read', 'sa:app').then(
        () => {
          admitted += 1;
        },
        () => {
          refusedA = true;
        },
      );
      await b.consume('read', 'sa:app').then(
        () => {
          admitted += 1;
        },
        () => {
          refusedB = true;
        },
      );
    }
    expect(admitted).toBeLessThanOrEqual(100);
    // Taken batches are spent while their reservation lasts, not thrown away.
    expect(admitted).toBeGreaterThanOrEqual(95);
  });

  it('stays within the capacity when both instances serve concurrent requests', async () => {
    const clock = fixedClock();
    const store = new InMemoryRateLimitStore();
    const rule = rules({ capacity: 100, refillPerSecond: 100 });
    const instances = [new RateLimiter(store, rule, clock.now), new RateLimiter(store, rule, clock.now)];
    let admitted = 0;
    for (let round = 0; round < 100; round += 1) {
      const results = await Promise.allSettled([0, 1, 0, 1, 0, 1].map((i) => instances[i]!.consume('read', 'sa:app')));
      admitted += results.filter((r) => r.status === 'fulfilled').length;
    }
    expect(admitted).toBeLessThanOrEqual(100);
    // Concurrent callers share one batch instead of each fetching (and dropping) their own.
    expect(admitted).toBeGreaterThanOrEqual(95);
  });

  it('lets unspent local tokens lapse, so the fleet can only under-admit', async () => {
    const clock = fixedClock();
    const store = new InMemoryRateLimitStore();
    const rule = rules({ capacity: 100, refillPerSecond: 1 });
    const a = new RateLimiter(store, rule, clock.now);
    const b = new RateLimiter(store, rule, clock.now);
    await a.consume('read', 'sa:app'); // a holds a small batch locally
    const drainedByB = (await drain(b)).admitted;
    clock.advance(1_000);
    // a's leftover batch has lapsed: it must ask the store, which has ~1 token of refill.
    const afterLapse = (await drain(a)).admitted;
    expect(1 + drainedByB + afterLapse).toBeLessThanOrEqual(101);
  });
});
