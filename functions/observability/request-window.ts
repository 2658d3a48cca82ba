// The requests this instance answered over the last interval, in fixed slots:
// what `/v1/admin/status` reports as success rate and average response time.

export interface RequestWindowStats {
  readonly intervalSeconds: number;
  readonly total: number;
  /** Share of requests not answered with a 5xx; null without requests. */
  readonly successRate: number | null;
  readonly avgResponseTimeMs: number | null;
}

interface Slot {
  start: number;
  total: number;
  failed: number;
  seconds: number;
}

export class RequestWindow {
  private readonly slots: Slot[];
  private readonly slotMs: number;

  constructor(
    readonly intervalSeconds: number,
    slotCount = 30,
    private readonly now: () => number = Date.now,
  ) {
    this.slotMs = (intervalSeconds * 1000) / slotCount;
    this.slots = Array.from({ length: slotCount }, () => ({ start: -1, total: 0, failed: 0, seconds: 0 }));
  }

  record(status: number, seconds: number): void {
    const start = Math.floor(this.now() / this.slotMs) * this.slotMs;
    const slot = this.slots[(start / this.slotMs) % this.slots.length]!;
    if (slot.start !== start) Object.assign(slot, { start, total: 0, failed: 0, seconds: 0 });
    slot.total += 1;
    if (status >= 500) slot.failed += 1;
    slot.seconds += seconds;
  }

  stats(): RequestWindowStats {
    const oldest = this.now() - this.intervalSeconds * 1000;
    let total = 0;
    let failed = 0;
    let seconds = 0;
    for (const slot of this.slots) {
      if (slot.start < 0 || slot.start + this.slotMs <= oldest) continue;
      total += slot.total;
      failed += slot.failed;
      seconds += slot.seconds;
    }
    return {
      intervalSeconds: this.intervalSeconds,
      total,
      successRate: total === 0 ? null : Math.round(((total - failed) / total) * 10_000) / 10_000,
      avgResponseTimeMs: total === 0 ? null : Math.round((seconds / total) * 1_000_000) / 1000,
    };
  }
}
