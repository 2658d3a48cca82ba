import { describe, expect, it } from 'vitest';
import { METRICS } from '../../functions/observability/metric-catalogue.js';
import type { JobQueueName } from '../../functions/domain/jobs/jobs.js';
import { type AuditChainState, StateGauges, type StateSource } from '../../functions/observability/state-gauges.js';

const clock = (start = 1_000_000) => {
  let now = start;
  return { now: () => now, advance: (ms: number) => void (now += ms) };
};

/** A StateSource whose answers the test sets, counting how often each read reaches it. */
class FakeStateSource implements StateSource {
  secrets: Record<string, number> = { acme: 3, globex: 0 };
  depths: Record<JobQueueName, number | undefined> = { rotation: 4, webhook: undefined, 'audit-export': 2 };
  ages: Record<JobQueueName, number> = { rotation: 12, webhook: 0, 'audit-export': 30 };
  tenantReads = 0;
  private release: (() => void) | undefined;
  private gate: Promise<void> | undefined;

  /** Holds every tenant listing until released, so concurrent scrapes overlap. */
  hold(): () => void {
    this.gate = new Promise((resolve) => (this.release = resolve));
    return () => {
      this.gate = undefined;
      this.release?.();
    };
  }

  async tenantIds(): Promise<string[]> {
    this.tenantReads += 1;
    await this.gate;
    return Object.keys(this.secrets);
  }

  async liveSecrets(tenantId: string): Promise<number> {
    return this.secrets[tenantId] ?? 0;
  }

  async queueDepth(queue: JobQueueName): Promise<{ waiting: number; backlog: number } | undefined> {
    const waiting = this.depths[queue];
    return waiting === undefined ? undefined : { waiting, backlog: waiting + 1 };
  }

  async oldestPendingAgeSeconds(queue: JobQueueName): Promise<number> {
    return this.ages[queue];
  }

  async tokensExpiringWithin(seconds: number): Promise<number> {
    return seconds > 3600 ? 5 : 2;
  }

  async auditChain(): Promise<AuditChainState> {
    return { lastSealSeconds: 1_790_000_000, divergence: 0, headBlock: 41, unsealed: 7 };
  }

  async certificateGauges() {
    return { [METRICS.certificatesExpiringSoon.name]: { '7': 1, '14': 2, '30': 2, '90': 5 } };
  }
}

describe('StateGauges', () => {
  it('reads secrets per tenant, queue gauges, certificate windows and build info', async () => {
    const gauges = new StateGauges(new FakeStateSource(), '1.4.0', 5000);
    expect(await gauges.read()).toEqual({
      [METRICS.secrets.name]: { acme: 3, globex: 0 },
      [METRICS.rotationQueueDepth.name]: { '': 4 },
      [METRICS.rotationQueueOldestAge.name]: { '': 12 },
      [METRICS.webhookQueueOldestAge.name]: { '': 0 },
      [METRICS.certificatesExpiringSoon.name]: { '7': 1, '14': 2, '30': 2, '90': 5 },
      [METRICS.jobsQueueDepth.name]: { rotation: 5, 'audit-export': 3 },
      [METRICS.jobsOldestAge.name]: { rotation: 12, webhook: 0, 'audit-export': 30 },
      [METRICS.buildInfo.name]: { '1.4.0': 1 },
      [METRICS.auditLastSeal.name]: { '': 1_790_000_000 },
      [METRICS.auditChainDivergence.name]: { '': 0 },
      [METRICS.auditChainHeadBlock.name]: { '': 41 },
      [METRICS.auditEventsUnsealed.name]: { '': 7 },
      [METRICS.tokensExpiringSoon.name]: { '1h': 2, '24h': 5 },
    });
  });

  it('omits a queue depth the source cannot tell rather than reporting 0', async () => {
    const source = new FakeStateSource();
    source.depths = { rotation: undefined, webhook: 0, 'audit-export': undefined };
    const state = await new StateGauges(source, 'dev', 5000).read();
    expect(state[METRICS.rotationQueueDepth.name]).toBeUndefined();
    expect(state[METRICS.webhookQueueDepth.name]).toEqual({ '': 0 });
    expect(state[METRICS.jobsQueueDepth.name]).toEqual({ webhook: 1 });
  });

  it('serves repeated scrapes within cacheMs from one read and reads again after it', async () => {
    const time = clock();
    const source = new FakeStateSource();
    const gauges = new StateGauges(source, 'dev', 5000, time.now);
    expect((await gauges.read())[METRICS.secrets.name]).toEqual({ acme: 3, globex: 0 });
    source.secrets = { acme: 7 };
    time.advance(4999);
    expect((await gauges.read())[METRICS.secrets.name]).toEqual({ acme: 3, globex: 0 });
    expect(source.tenantReads).toBe(1);
    time.advance(1);
    expect((await gauges.read())[METRICS.secrets.name]).toEqual({ acme: 7 });
    expect(source.tenantReads).toBe(2);
  });

  it('lets concurrent scrapes share one load', async () => {
    const source = new FakeStateSource();
    const gauges = new StateGauges(source, 'dev', 5000);
    const release = source.hold();
    const reads = Promise.all([gauges.read(), gauges.read(), gauges.read()]);
    await new Promise((resolve) => setImmediate(resolve));
    release();
    const [first, second, third] = await reads;
    expect(source.tenantReads).toBe(1);
    expect(second).toEqual(first);
    expect(third).toEqual(first);
  });

  it('tries again on the next scrape after a failed load', async () => {
    const source = new FakeStateSource();
    const gauges = new StateGauges(source, 'dev', 5000);
    const original = source.tenantIds.bind(source);
    source.tenantIds = async () => {
      source.tenantIds = original;
      throw new Error('dynamodb unavailable');
    };
    await expect(gauges.read()).rejects.toThrow('dynamodb unavailable');
    expect((await gauges.read())[METRICS.secrets.name]).toEqual({ acme: 3, globex: 0 });
  });
});
