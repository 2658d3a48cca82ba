// Data keys and the key wrapper (KMS or the local key file) that wraps them.

export interface DataKeyRecord {
  readonly tenantId: string;
  readonly keyId: string;
  readonly wrapped: Uint8Array;
  readonly provider: string;
  readonly createdAt: string;
}

export interface WrappedDataKey {
  readonly plaintext: Buffer;
  readonly wrapped: Uint8Array;
}

export interface KeyProviderStatus {
  readonly provider: string;
  readonly keyId: string;
  readonly state: string;
}

/** Wraps and unwraps data keys under a master key (KMS or the local key file). */
export interface KeyWrapper {
  readonly provider: string;
  generateDataKey(context: Readonly<Record<string, string>>): Promise<WrappedDataKey>;
  unwrap(wrapped: Uint8Array, context: Readonly<Record<string, string>>): Promise<Buffer>;
  describe(): Promise<KeyProviderStatus>;
}
