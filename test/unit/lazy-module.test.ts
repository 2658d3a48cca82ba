import { describe, expect, it } from 'vitest';
import { lazyModule } from '../../functions/domain/lazy-module.js';

describe('lazyModule', () => {
  it('loads once for every caller, and tries a failed load again on the next call', async () => {
    let loads = 0;
    const load = lazyModule(async () => {
      loads += 1;
      if (loads === 1) throw new Error('chunk unreadable');
      return { loads };
    });
    await expect(load()).rejects.toThrow('chunk unreadable');
    const [a, b] = await Promise.all([load(), load()]);
    expect(a).toBe(b);
    expect(await load()).toEqual({ loads: 2 });
    expect(loads).toBe(2);
  });
});
