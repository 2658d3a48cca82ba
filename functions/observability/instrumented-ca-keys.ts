import type { AsymmetricKeyProvider, CaSigner, KeyType, ManagedKey } from '../domain/ports/pki.js';

export type KeyCallObserver = (operation: 'sign', seconds: number, failed: boolean) => void;

/** Times every signature a CA key provider makes: `scaivault_kms_latency_seconds{operation="sign"}`. */
export class InstrumentedCaKeys implements AsymmetricKeyProvider {
  readonly provider: string;

  constructor(
    private readonly inner: AsymmetricKeyProvider,
    private readonly observe: KeyCallObserver,
  ) {
    this.provider = inner.provider;
  }

  createKey(keyType: KeyType, description: string): Promise<ManagedKey> {
    return this.inner.createKey(keyType, description);
  }

  signer(keyRef: string, keyType: KeyType): CaSigner {
    const signer = this.inner.signer(keyRef, keyType);
    return {
      keyType,
      sign: async (data) => {
        const started = performance.now();
        let failed = true;
        try {
          const signature = await signer.sign(data);
          failed = false;
          return signature;
        } finally {
          this.observe('sign', (performance.now() - started) / 1000, failed);
        }
      },
    };
  }
}
