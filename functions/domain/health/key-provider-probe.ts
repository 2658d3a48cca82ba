import type { DependencyProbe } from '../ports/health.js';
import type { KeyWrapper } from '../ports/keys.js';

export class KeyDisabledError extends Error {
  override readonly name = 'KeyNotEnabled';
}

/** Readiness of the key provider: the master key answers and is enabled. */
export class KeyProviderProbe implements DependencyProbe {
  readonly name = 'key_provider';

  constructor(private readonly wrapper: KeyWrapper) {}

  async check(): Promise<void> {
    const status = await this.wrapper.describe();
    if (status.state !== 'Enabled') throw new KeyDisabledError();
  }
}
