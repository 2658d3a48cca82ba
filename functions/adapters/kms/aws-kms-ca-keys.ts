import type { KeySpec, SigningAlgorithmSpec } from '@aws-sdk/client-kms';
import { PKI_KMS_KEY_TAG } from '../../runtime/definitions.js';
import { kmsSdk, type KmsSender } from './kms-sdk.js';
import type { AsymmetricKeyProvider, CaSigner, KeyType, ManagedKey } from '../../domain/ports/pki.js';

const SPECS: Readonly<Record<KeyType, { keySpec: KeySpec; algorithm: SigningAlgorithmSpec }>> = {
  'ec-p256': { keySpec: 'ECC_NIST_P256', algorithm: 'ECDSA_SHA_256' },
  'ec-p384': { keySpec: 'ECC_NIST_P384', algorithm: 'ECDSA_SHA_384' },
  'rsa-2048': { keySpec: 'RSA_2048', algorithm: 'RSASSA_PKCS1_V1_5_SHA_256' },
  'rsa-3072': { keySpec: 'RSA_3072', algorithm: 'RSASSA_PKCS1_V1_5_SHA_256' },
  'rsa-4096': { keySpec: 'RSA_4096', algorithm: 'RSASSA_PKCS1_V1_5_SHA_256' },
};

/** Lengths of r and s in a P1363 signature. */
const EC_COORDINATE_BYTES: Partial<Record<KeyType, number>> = { 'ec-p256': 32, 'ec-p384': 48 };

/** KMS answers ECDSA in DER; WebCrypto (and so @peculiar/x509) wants r||s. */
const derToP1363 = async (der: Uint8Array, size: number): Promise<Uint8Array> => {
  const [schema, ecc] = await Promise.all([import('@peculiar/asn1-schema'), import('@peculiar/asn1-ecc')]);
  const value = schema.AsnConvert.parse(der, ecc.ECDSASigValue);
  const fixed = (integer: ArrayBuffer) => {
    const bytes = Buffer.from(integer);
    const trimmed = bytes.subarray(Math.max(0, bytes.length - size));
    return Buffer.concat([Buffer.alloc(size - trimmed.length), trimmed]);
  };
  return Buffer.concat([fixed(value.r), fixed(value.s)]);
};

/**
 * CA keys in AWS KMS asymmetric keys (`key_backend: "kms"`): created with
 * CreateKey (SIGN_VERIFY), signing with Sign on the raw to-be-signed bytes, so
 * the private key never leaves KMS.
 */
export class AwsKmsCaKeys implements AsymmetricKeyProvider {
  readonly provider = 'aws-kms';

  constructor(
    private readonly client: KmsSender,
    private readonly tags: Readonly<Record<string, string>> = { [PKI_KMS_KEY_TAG.key]: PKI_KMS_KEY_TAG.value },
  ) {}

  async createKey(keyType: KeyType, description: string): Promise<ManagedKey> {
    const { CreateKeyCommand, GetPublicKeyCommand } = await kmsSdk();
    const created = await this.client.send(
      new CreateKeyCommand({
        KeySpec: SPECS[keyType].keySpec,
        KeyUsage: 'SIGN_VERIFY',
        Description: description,
        Tags: Object.entries(this.tags).map(([TagKey, TagValue]) => ({ TagKey, TagValue })),
      }),
    );
    const keyRef = created.KeyMetadata?.Arn ?? created.KeyMetadata?.KeyId;
    if (!keyRef) throw new Error('KMS CreateKey returned no key id');
    const publicKey = await this.client.send(new GetPublicKeyCommand({ KeyId: keyRef }));
    if (!publicKey.PublicKey) throw new Error('KMS GetPublicKey returned no key');
    return { keyRef, publicKeySpki: publicKey.PublicKey };
  }

  signer(keyRef: string, keyType: KeyType): CaSigner {
    const { algorithm } = SPECS[keyType];
    const coordinate = EC_COORDINATE_BYTES[keyType];
    return {
      keyType,
      sign: async (data) => {
        // Sign takes a raw message up to 4096 bytes; a longer one (a large CRL) is sent as its digest.
        const digest = data.length > 4096;
        const message = digest
          ? await import('node:crypto').then(({ createHash }) =>
              createHash(keyType === 'ec-p384' ? 'sha384' : 'sha256')
                .update(data)
                .digest(),
            )
          : data;
        const { SignCommand } = await kmsSdk();
        const result = await this.client.send(
          new SignCommand({ KeyId: keyRef, Message: message, MessageType: digest ? 'DIGEST' : 'RAW', SigningAlgorithm: algorithm }),
        );
        if (!result.Signature) throw new Error('KMS Sign returned no signature');
        return coordinate ? derToP1363(result.Signature, coordinate) : result.Signature;
      },
    };
  }
}
