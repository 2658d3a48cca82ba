import { describe, expect, it } from 'vitest';
import { RequestWindow } from '../../functions/observability/request-window.js';

describe('RequestWindow', () => {
  it('reports the success rate and mean response time of the last interval only', () => {
    let now = 1_000_000;
    const window = new RequestWindow(60, 6, () => now);
    expect(window.stats()).toEqual({ intervalSeconds: 60, total: 0, successRate: null, avgResponseTimeMs: null });
    window.record(200, 0.01);
    window.record(503, 0.03);
    now += 30_000;
    window.record(200, 0.02);
    expect(window.stats()).toEqual({ intervalSeconds: 60, total: 3, successRate: 0.6667, avgResponseTimeMs: 20 });
    // The first two fall out of the interval; their slot is reused, not added to.
    now += 40_000;
    window.record(200, 0.04);
    expect(window.stats()).toEqual({ intervalSeconds: 60, total: 2, successRate: 1, avgResponseTimeMs: 30 });
  });
});
