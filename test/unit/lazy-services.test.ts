import { describe, expect, it } from 'vitest';
import { lazyServices } from '../../functions/composition/lazy-services.js';

class Counter {
  private count = 0;
  async add(by: number): Promise<number> {
    this.count += by;
    return this.count;
  }
}

describe('lazyServices', () => {
  it('composes on the first call, once, and calls methods on their real owner', async () => {
    let loads = 0;
    const services = lazyServices(async () => {
      loads += 1;
      return { counter: new Counter() };
    });
    expect(loads).toBe(0);
    expect(await services.counter.add(2)).toBe(2);
    expect(await services.counter.add(3)).toBe(5);
    expect(loads).toBe(1);
  });

  it('tries the load again after it failed', async () => {
    let attempts = 0;
    const services = lazyServices(async () => {
      attempts += 1;
      if (attempts === 1) throw new Error('chunk not found');
      return { counter: new Counter() };
    });
    await expect(services.counter.add(1)).rejects.toThrow('chunk not found');
    expect(await services.counter.add(1)).toBe(1);
    expect(attempts).toBe(2);
  });

  it('is not mistaken for a promise', async () => {
    const services = lazyServices(async () => ({ counter: new Counter() }));
    const member = services.counter;
    expect(await Promise.resolve(member)).toBe(member);
  });
});
