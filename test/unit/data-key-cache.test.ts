import { afterEach, describe, expect, it, vi } from 'vitest';
import { DataKeyCache } from '../../functions/domain/crypto/data-key-cache.js';

const keyOf = (fill: number): Buffer => Buffer.alloc(32, fill);

const clock = (start = 1_000_000) => {
  let now = start;
  return {
    now: () => now,
    advance: (ms: number) => {
      now += ms;
    },
  };
};

describe('DataKeyCache', () => {
  it('counts a miss for an unknown id and a hit for a stored one', () => {
    const cache = new DataKeyCache(60, 10);
    expect(cache.get('t/k1')).toBeUndefined();
    cache.set('t/k1', keyOf(1));
    expect(cache.get('t/k1')?.equals(keyOf(1))).toBe(true);
    expect(cache.get('t/k1')?.equals(keyOf(1))).toBe(true);
    expect(cache.stats()).toMatchObject({ hits: 2, misses: 1, evictions: 0, entries: 1, maxEntries: 10, ttlSeconds: 60 });
  });

  it('knows when its least and most recently used keys were last used', () => {
    const time = clock();
    const cache = new DataKeyCache(60, 10, time.now);
    expect(cache.stats()).toMatchObject({ oldestAccessAt: null, newestAccessAt: null });
    cache.set('t/k1', keyOf(1));
    time.advance(1000);
    cache.set('t/k2', keyOf(2));
    time.advance(1000);
    cache.get('t/k2');
    expect(cache.stats()).toMatchObject({ oldestAccessAt: 1_000_000, newestAccessAt: 1_002_000 });
    cache.get('t/k1');
    expect(cache.stats()).toMatchObject({ oldestAccessAt: 1_002_000, newestAccessAt: 1_002_000 });
    cache.clear();
    expect(cache.stats()).toMatchObject({ oldestAccessAt: null, newestAccessAt: null });
  });

  it("keeps its own copy, so wiping the caller's buffer does not change the cached key", () => {
    const cache = new DataKeyCache(60, 10);
    const key = keyOf(7);
    cache.set('t/k1', key);
    key.fill(0);
    expect(cache.get('t/k1')?.equals(keyOf(7))).toBe(true);
  });

  it('expires an entry after the TTL, counting a miss and dropping it', () => {
    const time = clock();
    const cache = new DataKeyCache(10, 10, time.now);
    cache.set('t/k1', keyOf(1));
    time.advance(9_999);
    expect(cache.get('t/k1')).toBeDefined();
    time.advance(1);
    expect(cache.get('t/k1')).toBeUndefined();
    expect(cache.stats()).toMatchObject({ hits: 1, misses: 1, entries: 0 });
  });

  it('forgets an expired entry without disturbing a key a caller still holds', () => {
    const time = clock();
    const cache = new DataKeyCache(10, 10, time.now);
    cache.set('t/k1', keyOf(9));
    const held = cache.get('t/k1')!;
    time.advance(10_000);
    expect(cache.get('t/k1')).toBeUndefined();
    expect(held.equals(keyOf(9))).toBe(true);
  });

  it('evicts the least recently used entry when full', () => {
    const cache = new DataKeyCache(60, 2);
    cache.set('a', keyOf(1));
    cache.set('b', keyOf(2));
    // Reading `a` makes `b` the least recently used.
    cache.get('a');
    cache.set('c', keyOf(3));
    expect(cache.get('b')).toBeUndefined();
    expect(cache.get('a')?.equals(keyOf(1))).toBe(true);
    expect(cache.get('c')?.equals(keyOf(3))).toBe(true);
    expect(cache.stats()).toMatchObject({ evictions: 1, entries: 2 });
  });

  it('evicts in insertion order when nothing was read', () => {
    const cache = new DataKeyCache(60, 2);
    cache.set('a', keyOf(1));
    cache.set('b', keyOf(2));
    cache.set('c', keyOf(3));
    expect(cache.get('a')).toBeUndefined();
    expect(cache.get('b')).toBeDefined();
    expect(cache.stats().evictions).toBe(1);
  });

  it('replaces an existing id without evicting anything', () => {
    const cache = new DataKeyCache(60, 2);
    cache.set('a', keyOf(1));
    cache.set('b', keyOf(2));
    cache.set('a', keyOf(3));
    expect(cache.get('a')?.equals(keyOf(3))).toBe(true);
    expect(cache.get('b')).toBeDefined();
    expect(cache.stats()).toMatchObject({ evictions: 0, entries: 2 });
  });

  it('clear() returns how many keys it held, wipes them and empties the cache', () => {
    const cache = new DataKeyCache(60, 10);
    cache.set('a', keyOf(1));
    cache.set('b', keyOf(2));
    const held = cache.get('a')!;
    expect(cache.clear()).toBe(2);
    // The caller's copy survives: a key in use must never be zeroed under it.
    expect(held.equals(keyOf(1))).toBe(true);
    expect(cache.stats().entries).toBe(0);
    expect(cache.get('a')).toBeUndefined();
    expect(cache.clear()).toBe(0);
  });

  it('stores nothing when the TTL is 0', () => {
    const cache = new DataKeyCache(0, 10);
    cache.set('a', keyOf(1));
    expect(cache.get('a')).toBeUndefined();
    expect(cache.stats()).toMatchObject({ entries: 0, hits: 0, misses: 1 });
  });
});

describe('DataKeyCache purge timer', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  /** The cache's own copy of a key, to see it zeroed: what a heap dump would find. */
  const heldCopy = (cache: DataKeyCache, id: string): Buffer => (cache as unknown as { entries: Map<string, { key: Buffer }> }).entries.get(id)?.key as Buffer;

  it('purges and zeroes expired entries on its timer without a lookup, leaving live ones', () => {
    vi.useFakeTimers();
    const cache = new DataKeyCache(10, 100);
    cache.set('old', Buffer.alloc(32, 7));
    const oldCopy = heldCopy(cache, 'old');
    const stop = cache.startPurging(1000);
    vi.advanceTimersByTime(6000);
    cache.set('young', Buffer.alloc(32, 9));
    vi.advanceTimersByTime(5000);

    expect(cache.stats().entries).toBe(1);
    expect(oldCopy.equals(Buffer.alloc(32, 0))).toBe(true);
    expect(heldCopy(cache, 'young').equals(Buffer.alloc(32, 9))).toBe(true);
    // Nothing was looked up: the purge, not a miss, dropped it.
    expect(cache.stats().misses).toBe(0);
    stop();
  });

  it("runs on an unref'd timer, so it never keeps a process alive", () => {
    const unref = vi.fn();
    const spy = vi.spyOn(globalThis, 'setInterval').mockReturnValue({ unref } as unknown as ReturnType<typeof setInterval>);
    const stop = new DataKeyCache(300, 10).startPurging();
    expect(unref).toHaveBeenCalledOnce();
    expect(spy.mock.calls[0]?.[1]).toBe(60_000);
    spy.mockRestore();
    stop();
  });
});
