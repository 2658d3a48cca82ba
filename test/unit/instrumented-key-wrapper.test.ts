import { afterEach, describe, expect, it, vi } from 'vitest';
import { DependencyUnavailableError, IntegrityError } from '../../functions/domain/errors.js';
import { InstrumentedKeyWrapper } from '../../functions/observability/instrumented-key-wrapper.js';
import { DURATION_BUCKETS, METRICS } from '../../functions/observability/metric-catalogue.js';
import { MetricRegistry, seriesKey, type HistogramValue } from '../../functions/observability/metric-registry.js';
import { VaultMetrics } from '../../functions/observability/vault-metrics.js';
import type { KeyProviderStatus, KeyWrapper, WrappedDataKey } from '../../functions/domain/ports/keys.js';

/** A key provider that answers or fails as told. */
class ScriptedKeyWrapper implements KeyWrapper {
  readonly provider = 'scripted';
  failure: Error | undefined;

  async generateDataKey(): Promise<WrappedDataKey> {
    if (this.failure) throw this.failure;
    return { plaintext: Buffer.alloc(32, 1), wrapped: new Uint8Array([9, 9]) };
  }

  async unwrap(): Promise<Buffer> {
    if (this.failure) throw this.failure;
    return Buffer.alloc(32, 1);
  }

  async describe(): Promise<KeyProviderStatus> {
    return { provider: this.provider, keyId: 'k', state: 'Enabled' };
  }
}

const providerError = (name: string): Error => Object.assign(new Error('provider said no'), { name });

const setUp = () => {
  const registry = new MetricRegistry();
  const inner = new ScriptedKeyWrapper();
  const wrapper = new InstrumentedKeyWrapper(inner, new VaultMetrics(registry));
  const latency = (operation: string) => registry.snapshot()[METRICS.kmsLatency.name]?.[operation] as HistogramValue | undefined;
  const errors = (operation: string) => registry.snapshot()[METRICS.kmsErrors.name]?.[operation] ?? 0;
  return { registry, inner, wrapper, latency, errors };
};

/** Each call to performance.now() moves time on by `stepMs`, so every timed call lasts exactly that long. */
const steppingClock = (stepMs: number) => {
  let now = 0;
  vi.spyOn(performance, 'now').mockImplementation(() => (now += stepMs));
};

afterEach(() => {
  vi.restoreAllMocks();
});

describe('InstrumentedKeyWrapper', () => {
  it('observes wraps as encrypt and unwraps as decrypt, in seconds', async () => {
    const { wrapper, latency, errors } = setUp();
    steppingClock(250);
    await wrapper.generateDataKey({ tenant: 't1' });
    await wrapper.unwrap(new Uint8Array([1]), { tenant: 't1' });
    await wrapper.unwrap(new Uint8Array([1]), { tenant: 't1' });

    expect(latency('encrypt')).toMatchObject({ count: 1, sum: 0.25 });
    expect(latency('decrypt')).toMatchObject({ count: 2, sum: 0.5 });
    expect(latency('decrypt')?.buckets[DURATION_BUCKETS.indexOf(0.25)]).toBe(2);
    expect(errors('encrypt')).toBe(0);
    expect(errors('decrypt')).toBe(0);
  });

  it('passes results and the provider name through untouched', async () => {
    const { wrapper } = setUp();
    expect(wrapper.provider).toBe('scripted');
    expect((await wrapper.generateDataKey({})).wrapped).toEqual(new Uint8Array([9, 9]));
    expect(await wrapper.describe()).toEqual({ provider: 'scripted', keyId: 'k', state: 'Enabled' });
  });

  it('counts a provider failure as a KMS error, times it and rethrows it', async () => {
    const { inner, wrapper, latency, errors } = setUp();
    const throttled = providerError('ThrottlingException');
    inner.failure = throttled;
    await expect(wrapper.unwrap(new Uint8Array([1]), {})).rejects.toBe(throttled);
    await expect(wrapper.generateDataKey({})).rejects.toBe(throttled);
    expect(errors('decrypt')).toBe(1);
    expect(errors('encrypt')).toBe(1);
    expect(latency('decrypt')?.count).toBe(1);
    expect(latency('encrypt')?.count).toBe(1);
  });

  it('does not count a tampered wrapped key (IntegrityError) as a KMS error, but still times the call', async () => {
    const { inner, wrapper, latency, errors } = setUp();
    inner.failure = new IntegrityError('KMS refused the wrapped data key');
    await expect(wrapper.unwrap(new Uint8Array([1]), {})).rejects.toBeInstanceOf(IntegrityError);
    expect(errors('decrypt')).toBe(0);
    expect(latency('decrypt')?.count).toBe(1);
  });

  it('does not count domain errors (VaultError subclasses) raised by the wrapped provider', async () => {
    const { inner, wrapper, errors } = setUp();
    inner.failure = new DependencyUnavailableError('key provider');
    await expect(wrapper.generateDataKey({})).rejects.toBeInstanceOf(DependencyUnavailableError);
    expect(errors('encrypt')).toBe(0);
  });

  it('counts wraps and unwraps by provider and result, a refused wrapped key as a failed unwrap', async () => {
    const { registry, inner, wrapper } = setUp();
    await wrapper.generateDataKey({ tenant: 'acme' });
    await wrapper.unwrap(new Uint8Array([1]), { tenant: 'acme' });
    await wrapper.unwrap(new Uint8Array([1]), { tenant: 'acme' });
    inner.failure = new IntegrityError('tampered');
    await expect(wrapper.unwrap(new Uint8Array([1]), { tenant: 'acme' })).rejects.toBeInstanceOf(IntegrityError);
    inner.failure = providerError('ThrottlingException');
    await expect(wrapper.generateDataKey({ tenant: 'acme' })).rejects.toThrow();
    const count = (metric: { name: string }, result: string) => registry.snapshot()[metric.name]?.[seriesKey(['scripted', result])] ?? 0;
    expect([count(METRICS.keyWraps, 'success'), count(METRICS.keyWraps, 'failed')]).toEqual([1, 1]);
    expect([count(METRICS.keyUnwraps, 'success'), count(METRICS.keyUnwraps, 'failed')]).toEqual([2, 1]);
  });

  it('offers the master key rotation only when the provider can', async () => {
    const { wrapper } = setUp();
    expect(wrapper.rotateMasterKey).toBeUndefined();
    const rotating = Object.assign(new ScriptedKeyWrapper(), { rotateMasterKey: async () => 'v2' });
    expect(await new InstrumentedKeyWrapper(rotating, new VaultMetrics(new MetricRegistry())).rotateMasterKey?.()).toBe('v2');
  });
});
