import { VaultError } from '../domain/errors.js';
import type { VaultMetrics } from './vault-metrics.js';
import type { KeyProviderStatus, KeyWrapper, WrappedDataKey } from '../domain/ports/keys.js';

/** Times every wrap (`encrypt`) and unwrap (`decrypt`), counts them by outcome, and counts provider failures. */
export class InstrumentedKeyWrapper implements KeyWrapper {
  constructor(
    private readonly inner: KeyWrapper,
    private readonly metrics: VaultMetrics,
  ) {}

  get provider(): string {
    return this.inner.provider;
  }

  generateDataKey(context: Readonly<Record<string, string>>): Promise<WrappedDataKey> {
    return this.timed('encrypt', () => this.inner.generateDataKey(context));
  }

  unwrap(wrapped: Uint8Array, context: Readonly<Record<string, string>>): Promise<Buffer> {
    return this.timed('decrypt', () => this.inner.unwrap(wrapped, context));
  }

  describe(): Promise<KeyProviderStatus> {
    return this.inner.describe();
  }

  get rotateMasterKey(): (() => Promise<string>) | undefined {
    return this.inner.rotateMasterKey?.bind(this.inner);
  }

  private async timed<T>(operation: 'encrypt' | 'decrypt', call: () => Promise<T>): Promise<T> {
    const started = performance.now();
    try {
      const result = await call();
      this.metrics.keyProviderCall(operation, (performance.now() - started) / 1000, false);
      this.metrics.keyWrapCall(operation === 'encrypt' ? 'wrap' : 'unwrap', this.inner.provider, false);
      return result;
    } catch (error) {
      // A tampered wrapped key is our data's fault, not the provider's.
      this.metrics.keyProviderCall(operation, (performance.now() - started) / 1000, !(error instanceof VaultError));
      this.metrics.keyWrapCall(operation === 'encrypt' ? 'wrap' : 'unwrap', this.inner.provider, true);
      throw error;
    }
  }
}
