import { createCipheriv, createDecipheriv, createPrivateKey, createPublicKey, randomBytes, type KeyObject } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { IntegrityError, NotFoundError } from '../../domain/errors.js';
import { generateKey, InMemorySigner } from '../../domain/pki/key-types.js';
import type { AsymmetricKeyProvider, CaSigner, KeyType, ManagedKey } from '../../domain/ports/pki.js';

const IV_BYTES = 12;
const TAG_BYTES = 16;
const REF_PREFIX = 'local-ca:';

/**
 * The local key provider's asymmetric keys, standing in for KMS in embedded
 * mode (`key_backend: "kms"`): each private key lives in its own file under
 * the data directory, sealed under the master key, and signs in this process.
 */
export class LocalCaKeys implements AsymmetricKeyProvider {
  readonly provider = 'local';
  private readonly opened = new Map<string, KeyObject>();

  constructor(
    private readonly masterKey: Buffer,
    private readonly directory: string,
  ) {}

  async createKey(keyType: KeyType): Promise<ManagedKey> {
    const { privateKey } = await generateKey(keyType);
    const id = randomBytes(16).toString('hex');
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.masterKey, iv);
    cipher.setAAD(Buffer.from(id));
    const body = Buffer.concat([cipher.update(privateKey.export({ type: 'pkcs8', format: 'der' })), cipher.final(), cipher.getAuthTag()]);
    mkdirSync(this.directory, { recursive: true, mode: 0o700 });
    writeFileSync(join(this.directory, `${id}.key`), Buffer.concat([iv, body]), { mode: 0o600, flag: 'wx' });
    return { keyRef: `${REF_PREFIX}${id}`, publicKeySpki: new Uint8Array(createPublicKey(privateKey).export({ type: 'spki', format: 'der' })) };
  }

  signer(keyRef: string, keyType: KeyType): CaSigner {
    return { keyType, sign: (data) => new InMemorySigner(this.key(keyRef), keyType).sign(data) };
  }

  private key(keyRef: string): KeyObject {
    const id = keyRef.startsWith(REF_PREFIX) ? keyRef.slice(REF_PREFIX.length) : '';
    if (!/^[0-9a-f]{32}$/.test(id)) throw new NotFoundError(`local CA key ${keyRef} not found`);
    const cached = this.opened.get(id);
    if (cached) return cached;
    const data = readFileSync(join(this.directory, `${id}.key`));
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.masterKey, data.subarray(0, IV_BYTES));
      decipher.setAAD(Buffer.from(id));
      decipher.setAuthTag(data.subarray(data.length - TAG_BYTES));
      const pkcs8 = Buffer.concat([decipher.update(data.subarray(IV_BYTES, data.length - TAG_BYTES)), decipher.final()]);
      const key = createPrivateKey({ key: pkcs8, format: 'der', type: 'pkcs8' });
      this.opened.set(id, key);
      return key;
    } catch (error) {
      throw new IntegrityError(`local CA key ${keyRef} failed authentication`, { cause: error });
    }
  }
}
