import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { LocalKeyWrapper } from '../../functions/adapters/local-key/local-key-wrapper.js';
import { DataKeyCache } from '../../functions/domain/crypto/data-key-cache.js';
import { KeyManager } from '../../functions/domain/crypto/key-manager.js';
import { DependencyUnavailableError, IntegrityError } from '../../functions/domain/errors.js';
import { InMemoryAuthRepository } from './support/in-memory-auth-repository.js';
import type { KeyProviderStatus, KeyWrapper, WrappedDataKey } from '../../functions/domain/ports/keys.js';

/** Delegates to a real wrapper and counts calls; can be told to fail like an unreachable provider. */
class CountingKeyWrapper implements KeyWrapper {
  readonly provider: string;
  generateCalls = 0;
  unwrapCalls = 0;
  failWith: Error | undefined;

  constructor(private readonly inner: KeyWrapper) {
    this.provider = inner.provider;
  }

  async generateDataKey(context: Readonly<Record<string, string>>): Promise<WrappedDataKey> {
    this.generateCalls += 1;
    if (this.failWith) throw this.failWith;
    return this.inner.generateDataKey(context);
  }

  async unwrap(wrapped: Uint8Array, context: Readonly<Record<string, string>>): Promise<Buffer> {
    this.unwrapCalls += 1;
    if (this.failWith) throw this.failWith;
    return this.inner.unwrap(wrapped, context);
  }

  describe(): Promise<KeyProviderStatus> {
    return this.inner.describe();
  }
}

const setup = (cacheTtlSeconds = 300) => {
  const repository = new InMemoryAuthRepository();
  const wrapper = new CountingKeyWrapper(new LocalKeyWrapper(randomBytes(32)));
  const cache = new DataKeyCache(cacheTtlSeconds, 100);
  return { repository, wrapper, cache, keys: new KeyManager(wrapper, repository, cache) };
};

const ctx = (tenantId: string, path = 'app/db', version = 1) => ({ tenantId, path, version });

describe('KeyManager', () => {
  it('stores a wrapped (not plaintext) data key for the tenant and seals/opens with it', async () => {
    const { repository, keys } = setup();
    const keyId = await keys.createDataKey('acme');
    const record = await repository.getDataKey('acme', keyId);
    expect(record).toMatchObject({ tenantId: 'acme', keyId, provider: 'local' });
    expect(record!.wrapped.length).toBeGreaterThan(32);

    const sealed = await keys.seal(keyId, 'hunter2', ctx('acme'));
    expect(sealed.keyId).toBe(keyId);
    expect(await keys.open(sealed, ctx('acme'))).toBe('hunter2');
  });

  it('unwraps a data key once on a cold instance and serves warm reads from the cache', async () => {
    const { repository, wrapper, keys } = setup();
    const keyId = await keys.createDataKey('acme');
    const sealed = await keys.seal(keyId, 'v', ctx('acme'));

    // A second instance sharing the repository starts with an empty cache.
    const coldWrapper = new CountingKeyWrapper(wrapper);
    const cold = new KeyManager(coldWrapper, repository, new DataKeyCache(300, 100));
    expect(await cold.open(sealed, ctx('acme'))).toBe('v');
    expect(await cold.open(sealed, ctx('acme'))).toBe('v');
    await cold.seal(keyId, 'w', ctx('acme', 'app/other'));
    expect(coldWrapper.unwrapCalls).toBe(1);
  });

  it('calls unwrap on every read when the cache is disabled', async () => {
    const { repository, wrapper, keys } = setup();
    const keyId = await keys.createDataKey('acme');
    const sealed = await keys.seal(keyId, 'v', ctx('acme'));
    const uncached = new KeyManager(wrapper, repository, new DataKeyCache(0, 100));
    const before = wrapper.unwrapCalls;
    await uncached.open(sealed, ctx('acme'));
    await uncached.open(sealed, ctx('acme'));
    expect(wrapper.unwrapCalls - before).toBe(2);
  });

  it('turns a key-provider failure into DependencyUnavailableError, keeping the cause', async () => {
    const { wrapper, keys } = setup();
    const outage = new Error('connect ETIMEDOUT');
    wrapper.failWith = outage;
    const error = await keys.createDataKey('acme').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DependencyUnavailableError);
    expect((error as Error).cause).toBe(outage);
  });

  it('turns an unwrap failure on a cold read into DependencyUnavailableError', async () => {
    const { repository, wrapper, keys } = setup();
    const keyId = await keys.createDataKey('acme');
    const sealed = await keys.seal(keyId, 'v', ctx('acme'));
    const cold = new KeyManager(wrapper, repository, new DataKeyCache(300, 100));
    wrapper.failWith = new Error('KMS throttled');
    await expect(cold.open(sealed, ctx('acme'))).rejects.toBeInstanceOf(DependencyUnavailableError);
  });

  it('passes an IntegrityError from the wrapper through unchanged', async () => {
    const { repository, keys } = setup();
    const keyId = await keys.createDataKey('acme');
    const sealed = await keys.seal(keyId, 'v', ctx('acme'));
    // The stored wrapped key was produced under another master key.
    const otherMaster = new KeyManager(new LocalKeyWrapper(randomBytes(32)), repository, new DataKeyCache(300, 100));
    await expect(otherMaster.open(sealed, ctx('acme'))).rejects.toBeInstanceOf(IntegrityError);
  });

  it('raises IntegrityError when the referenced data key is missing', async () => {
    const { keys } = setup();
    await expect(keys.seal('dk_missing', 'v', ctx('acme'))).rejects.toBeInstanceOf(IntegrityError);
    await expect(keys.open({ keyId: 'dk_missing', iv: new Uint8Array(12), ciphertext: new Uint8Array(32) }, ctx('acme'))).rejects.toBeInstanceOf(
      IntegrityError,
    );
  });

  it("does not let one tenant use another tenant's data key", async () => {
    const { keys } = setup();
    const keyId = await keys.createDataKey('acme');
    await expect(keys.seal(keyId, 'v', ctx('globex'))).rejects.toBeInstanceOf(IntegrityError);
  });

  it('refuses a value sealed for one tenant when opened as another', async () => {
    const { keys } = setup();
    const acmeKey = await keys.createDataKey('acme');
    const sealed = await keys.seal(acmeKey, 'v', ctx('acme'));
    await keys.createDataKey('globex');
    await expect(keys.open(sealed, ctx('globex'))).rejects.toBeInstanceOf(IntegrityError);
  });

  it('seals with the real data key even if the cache is cleared while the seal is in flight', async () => {
    // Cache hit hands out the cache's own buffer; clear() (POST /v1/admin/cache/clear)
    // zero-fills it before KeyManager.seal resumes after `await this.dataKey(...)`.
    const { keys, cache } = setup();
    const keyId = await keys.createDataKey('acme');
    const inFlight = keys.seal(keyId, 'v', ctx('acme'));
    cache.clear();
    const sealed = await inFlight;
    expect(await keys.open(sealed, ctx('acme'))).toBe('v');
  });
});
