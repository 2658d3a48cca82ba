// The key types CAs and leaves may use, and how each signs.
import { generateKeyPair, type KeyObject, sign as nodeSign } from 'node:crypto';
import { promisify } from 'node:util';
import { ValidationError } from '../errors.js';
import { CA_KEY_TYPES, type CaSigner, type KeyType } from '../ports/pki.js';

const generate = promisify(generateKeyPair);

interface KeyTypeSpec {
  /** WebCrypto's algorithm of the private key, as @peculiar/x509 reads it to name the signature algorithm. */
  readonly keyAlgorithm: Record<string, unknown>;
  readonly hash: 'SHA-256' | 'SHA-384';
}

const EC = (namedCurve: string, hash: 'SHA-256' | 'SHA-384'): KeyTypeSpec => ({ keyAlgorithm: { name: 'ECDSA', namedCurve }, hash });
const RSA = (modulusLength: number): KeyTypeSpec => ({
  keyAlgorithm: { name: 'RSASSA-PKCS1-v1_5', modulusLength, hash: { name: 'SHA-256' } },
  hash: 'SHA-256',
});

export const KEY_TYPE_SPECS: Readonly<Record<KeyType, KeyTypeSpec>> = {
  'ec-p256': EC('P-256', 'SHA-256'),
  'ec-p384': EC('P-384', 'SHA-384'),
  'rsa-2048': RSA(2048),
  'rsa-3072': RSA(3072),
  'rsa-4096': RSA(4096),
};

export const parseKeyType = (value: string, field = 'key_type'): KeyType => {
  if (!(CA_KEY_TYPES as readonly string[]).includes(value)) throw new ValidationError(`${field} must be one of ${CA_KEY_TYPES.join(', ')}`, field);
  return value as KeyType;
};

/** The key type of a public or private key, or undefined for one no role may allow (Ed25519, P-521, RSA 1024). */
export const keyTypeOf = (key: KeyObject): KeyType | undefined => {
  const details = key.asymmetricKeyDetails ?? {};
  if (key.asymmetricKeyType === 'ec') return details.namedCurve === 'prime256v1' ? 'ec-p256' : details.namedCurve === 'secp384r1' ? 'ec-p384' : undefined;
  if (key.asymmetricKeyType !== 'rsa') return undefined;
  const bits = details.modulusLength;
  return bits === 2048 ? 'rsa-2048' : bits === 3072 ? 'rsa-3072' : bits === 4096 ? 'rsa-4096' : undefined;
};

export const generateKey = async (keyType: KeyType): Promise<{ publicKey: KeyObject; privateKey: KeyObject }> =>
  keyType.startsWith('ec-')
    ? generate('ec', { namedCurve: keyType === 'ec-p256' ? 'prime256v1' : 'secp384r1' })
    : generate('rsa', { modulusLength: Number(keyType.slice(4)), publicExponent: 0x10001 });

/** Signs in process with a private key held in memory (a sealed CA key once opened, or a local provider's key). */
export class InMemorySigner implements CaSigner {
  constructor(
    private readonly key: KeyObject,
    readonly keyType: KeyType,
  ) {}

  async sign(data: Uint8Array): Promise<Uint8Array> {
    const hash = KEY_TYPE_SPECS[this.keyType].hash.replace('-', '').toLowerCase();
    return nodeSign(hash, data, { key: this.key, dsaEncoding: 'ieee-p1363' });
  }
}
