import { describe, expect, it } from 'vitest';
import { backoffCeilingMs, backoffMs, MAX_VISIBILITY_SECONDS, visibilitySeconds } from '../../functions/domain/webhooks/backoff.js';

describe('webhook retry backoff', () => {
  const policy = { baseMs: 10_000, capMs: 900_000 };

  it('doubles the ceiling from the base on every attempt until the cap', () => {
    expect([1, 2, 3, 4, 5, 6, 7, 8, 9, 60].map((attempt) => backoffCeilingMs(policy, attempt))).toEqual([
      10_000, 20_000, 40_000, 80_000, 160_000, 320_000, 640_000, 900_000, 900_000, 900_000,
    ]);
    expect(backoffCeilingMs({ baseMs: 200, capMs: 500 }, 1)).toBe(200);
    expect(backoffCeilingMs({ baseMs: 200, capMs: 500 }, 2)).toBe(400);
    expect(backoffCeilingMs({ baseMs: 200, capMs: 500 }, 3)).toBe(500);
    // A huge attempt number neither overflows nor escapes the cap.
    expect(backoffCeilingMs(policy, 10_000)).toBe(900_000);
  });

  it('draws the delay with full jitter: anywhere from 0 up to the ceiling, inclusive', () => {
    for (const attempt of [1, 2, 5, 8, 20]) {
      const ceiling = backoffCeilingMs(policy, attempt);
      expect(backoffMs(policy, attempt, () => 0)).toBe(0);
      expect(backoffMs(policy, attempt, () => 0.999_999_999)).toBe(ceiling);
      for (let i = 0; i < 200; i += 1) {
        const delay = backoffMs(policy, attempt);
        expect(delay).toBeGreaterThanOrEqual(0);
        expect(delay).toBeLessThanOrEqual(ceiling);
        expect(Number.isInteger(delay)).toBe(true);
      }
    }
  });

  it('spreads delays over the whole range rather than clustering', () => {
    const delays = Array.from({ length: 2000 }, () => backoffMs(policy, 4));
    const mean = delays.reduce((a, b) => a + b, 0) / delays.length;
    expect(mean).toBeGreaterThan(80_000 * 0.4);
    expect(mean).toBeLessThan(80_000 * 0.6);
    expect(Math.min(...delays)).toBeLessThan(8_000);
    expect(Math.max(...delays)).toBeGreaterThan(72_000);
  });

  it('turns delays into SQS visibility timeouts: whole seconds rounded up, within SQS limits', () => {
    expect(visibilitySeconds(0)).toBe(0);
    expect(visibilitySeconds(1)).toBe(1);
    expect(visibilitySeconds(1000)).toBe(1);
    expect(visibilitySeconds(1001)).toBe(2);
    expect(visibilitySeconds(-5)).toBe(0);
    expect(visibilitySeconds(10 * 24 * 3600 * 1000)).toBe(MAX_VISIBILITY_SECONDS);
  });
});
