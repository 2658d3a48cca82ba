import { IntegrityError } from '../../domain/errors.js';
import type { KeyProviderStatus, KeyWrapper, WrappedDataKey } from '../../domain/ports/keys.js';
import { kmsSdk, type KmsSender } from './kms-sdk.js';

/** Data keys from AWS KMS GenerateDataKey, bound to their tenant by the encryption context. */
export class AwsKmsKeyWrapper implements KeyWrapper {
  readonly provider = 'aws-kms';

  constructor(
    private readonly client: KmsSender,
    private readonly keyId: string,
  ) {}

  async generateDataKey(context: Readonly<Record<string, string>>): Promise<WrappedDataKey> {
    const { GenerateDataKeyCommand } = await kmsSdk();
    const result = await this.client.send(new GenerateDataKeyCommand({ KeyId: this.keyId, KeySpec: 'AES_256', EncryptionContext: { ...context } }));
    if (!result.Plaintext || !result.CiphertextBlob) throw new Error('KMS GenerateDataKey returned no key');
    return { plaintext: Buffer.from(result.Plaintext), wrapped: result.CiphertextBlob };
  }

  async unwrap(wrapped: Uint8Array, context: Readonly<Record<string, string>>): Promise<Buffer> {
    const { DecryptCommand } = await kmsSdk();
    try {
      const result = await this.client.send(new DecryptCommand({ KeyId: this.keyId, CiphertextBlob: wrapped, EncryptionContext: { ...context } }));
      if (!result.Plaintext) throw new Error('KMS Decrypt returned no plaintext');
      return Buffer.from(result.Plaintext);
    } catch (error) {
      if (error instanceof Error && error.name === 'InvalidCiphertextException') {
        throw new IntegrityError('KMS refused the wrapped data key', { cause: error });
      }
      throw error;
    }
  }

  async describe(): Promise<KeyProviderStatus> {
    const { DescribeKeyCommand } = await kmsSdk();
    const result = await this.client.send(new DescribeKeyCommand({ KeyId: this.keyId }));
    return { provider: this.provider, keyId: result.KeyMetadata?.Arn ?? this.keyId, state: result.KeyMetadata?.KeyState ?? 'Unknown' };
  }

  /**
   * Starts an on-demand rotation of the KMS key's material. KMS keeps every older
   * material version and picks the right one for each ciphertext, so data keys
   * wrapped before keep unwrapping; new GenerateDataKey calls use the new material.
   * Returns the key's id (KMS names no material version in its answer).
   */
  async rotateMasterKey(): Promise<string> {
    const { RotateKeyOnDemandCommand } = await kmsSdk();
    const result = await this.client.send(new RotateKeyOnDemandCommand({ KeyId: this.keyId }));
    return result.KeyId ?? this.keyId;
  }
}
