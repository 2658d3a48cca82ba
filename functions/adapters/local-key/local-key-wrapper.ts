import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { closeSync, fstatSync, mkdirSync, openSync, readFileSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { IntegrityError, VaultError } from '../../domain/errors.js';
import type { KeyProviderStatus, KeyWrapper, WrappedDataKey } from '../../domain/ports/keys.js';

const FORMAT = 1;
const IV_BYTES = 12;
const TAG_BYTES = 16;

export class LocalKeyError extends VaultError {
  override readonly name = 'LocalKeyError';
}

/**
 * Reads the 256-bit master key, creating it on first start. The file is created
 * exclusively with mode 0600, and an existing file readable by others is refused.
 */
export const loadOrCreateMasterKey = (file: string): Buffer => {
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  try {
    const fd = openSync(file, 'wx', 0o600);
    try {
      writeSync(fd, `${randomBytes(32).toString('base64')}\n`);
    } finally {
      closeSync(fd);
    }
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
  const fd = openSync(file, 'r');
  try {
    if ((fstatSync(fd).mode & 0o077) !== 0) throw new LocalKeyError(`master key file ${file} must not be readable by group or others (chmod 600)`);
  } finally {
    closeSync(fd);
  }
  const key = Buffer.from(readFileSync(file, 'utf8').trim(), 'base64');
  if (key.length !== 32) throw new LocalKeyError(`master key file ${file} does not hold a 256-bit key`);
  return key;
};

/** Wraps data keys with AES-256-GCM under a master key kept in the data directory. */
export class LocalKeyWrapper implements KeyWrapper {
  readonly provider = 'local';
  private readonly fingerprint: string;

  constructor(private readonly masterKey: Buffer) {
    this.fingerprint = `local:${createHash('sha256').update(masterKey).digest('hex').slice(0, 16)}`;
  }

  async generateDataKey(context: Readonly<Record<string, string>>): Promise<WrappedDataKey> {
    const plaintext = randomBytes(32);
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.masterKey, iv);
    cipher.setAAD(contextBytes(context));
    const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
    return { plaintext, wrapped: Buffer.concat([Buffer.from([FORMAT]), iv, body, cipher.getAuthTag()]) };
  }

  async unwrap(wrapped: Uint8Array, context: Readonly<Record<string, string>>): Promise<Buffer> {
    const data = Buffer.from(wrapped);
    if (data[0] !== FORMAT || data.length !== 1 + IV_BYTES + 32 + TAG_BYTES) throw new IntegrityError('wrapped data key is malformed');
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.masterKey, data.subarray(1, 1 + IV_BYTES));
      decipher.setAAD(contextBytes(context));
      decipher.setAuthTag(data.subarray(data.length - TAG_BYTES));
      return Buffer.concat([decipher.update(data.subarray(1 + IV_BYTES, data.length - TAG_BYTES)), decipher.final()]);
    } catch (error) {
      throw new IntegrityError('wrapped data key failed authentication', { cause: error });
    }
  }

  async describe(): Promise<KeyProviderStatus> {
    return { provider: this.provider, keyId: this.fingerprint, state: 'Enabled' };
  }
}

const contextBytes = (context: Readonly<Record<string, string>>): Buffer =>
  Buffer.from(JSON.stringify(Object.entries(context).sort(([a], [b]) => a.localeCompare(b))), 'utf8');
