// Unwrapped data keys kept in memory for a bounded time, so warm reads do not
// call the key provider. Least recently used entries are evicted first.

export interface KeyCacheStats {
  readonly hits: number;
  readonly misses: number;
  readonly evictions: number;
  readonly entries: number;
  readonly maxEntries: number;
  readonly ttlSeconds: number;
  /** Epoch ms the least recently used entry was last used (cached or read); null when empty. */
  readonly oldestAccessAt: number | null;
  /** Epoch ms the most recently used entry was last used; null when empty. */
  readonly newestAccessAt: number | null;
}

interface Entry {
  readonly key: Buffer;
  readonly expiresAt: number;
  accessedAt: number;
}

export class DataKeyCache {
  private readonly entries = new Map<string, Entry>();
  private hits = 0;
  private misses = 0;
  private evictions = 0;
  /** The newest entry's access time: the map's last entry, kept here to avoid walking it. */
  private lastAccessAt: number | null = null;

  constructor(
    private readonly ttlSeconds: number,
    private readonly maxEntries: number,
    private readonly now: () => number = Date.now,
    private readonly onLookup: (hit: boolean) => void = () => undefined,
  ) {}

  get(id: string): Buffer | undefined {
    const entry = this.entries.get(id);
    if (entry && entry.expiresAt > this.now()) {
      this.hits += 1;
      this.onLookup(true);
      // Re-insert to mark as most recently used: the map's order is access order.
      entry.accessedAt = this.now();
      this.lastAccessAt = entry.accessedAt;
      this.entries.delete(id);
      this.entries.set(id, entry);
      // A copy: clear() or an eviction wipes the cached buffer, possibly while the caller still uses the key.
      return Buffer.from(entry.key);
    }
    if (entry) this.drop(id, entry);
    this.misses += 1;
    this.onLookup(false);
    return undefined;
  }

  set(id: string, key: Buffer): void {
    if (this.ttlSeconds <= 0) return;
    const existing = this.entries.get(id);
    if (existing) this.entries.delete(id);
    while (this.entries.size >= this.maxEntries) {
      const [oldestId, oldest] = this.entries.entries().next().value as [string, Entry];
      this.drop(oldestId, oldest);
      this.evictions += 1;
    }
    const now = this.now();
    this.entries.set(id, { key: Buffer.from(key), expiresAt: now + this.ttlSeconds * 1000, accessedAt: now });
    this.lastAccessAt = now;
  }

  /** Drops (and zeroes) every expired entry now, rather than at its next lookup; returns how many. */
  purgeExpired(): number {
    const now = this.now();
    let purged = 0;
    for (const [id, entry] of this.entries) {
      if (entry.expiresAt > now) continue;
      this.drop(id, entry);
      purged += 1;
    }
    return purged;
  }

  /**
   * Purges expired entries every `intervalMs` on an unref'd timer, so an idle
   * process does not keep plaintext keys past their TTL; returns the stop call.
   */
  startPurging(intervalMs = Math.min(60_000, Math.max(1000, (this.ttlSeconds * 1000) / 2))): () => void {
    const timer = setInterval(() => this.purgeExpired(), intervalMs);
    timer.unref();
    return () => clearInterval(timer);
  }

  /** Forgets every key, wiping the plaintext copies; returns how many were held. */
  clear(): number {
    const count = this.entries.size;
    for (const [id, entry] of this.entries) this.drop(id, entry);
    return count;
  }

  stats(): KeyCacheStats {
    const empty = this.entries.size === 0;
    return {
      oldestAccessAt: this.entries.values().next().value?.accessedAt ?? null,
      newestAccessAt: empty ? null : this.lastAccessAt,
      hits: this.hits,
      misses: this.misses,
      evictions: this.evictions,
      entries: this.entries.size,
      maxEntries: this.maxEntries,
      ttlSeconds: this.ttlSeconds,
    };
  }

  private drop(id: string, entry: Entry): void {
    entry.key.fill(0);
    this.entries.delete(id);
  }
}
