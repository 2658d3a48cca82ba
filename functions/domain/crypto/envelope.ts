import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { IntegrityError } from '../errors.js';
import type { SealedValue } from '../ports/secrets.js';

const ALGORITHM = 'aes-256-gcm';
const IV_BYTES = 12;
const TAG_BYTES = 16;

/** What a ciphertext is bound to: moving it to another tenant, path or version breaks it. */
export interface SealContext {
  readonly tenantId: string;
  readonly path: string;
  readonly version: number;
}

export const additionalData = (context: SealContext): Buffer =>
  Buffer.from(JSON.stringify(['scaivault/v1', context.tenantId, context.path, context.version]), 'utf8');

export const seal = (dataKey: Buffer, keyId: string, plaintext: string, context: SealContext): SealedValue => {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv(ALGORITHM, dataKey, iv);
  cipher.setAAD(additionalData(context));
  const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  return { keyId, iv, ciphertext: Buffer.concat([body, cipher.getAuthTag()]) };
};

export const open = (dataKey: Buffer, sealed: SealedValue, context: SealContext): string => {
  const data = Buffer.from(sealed.ciphertext);
  if (sealed.iv.length !== IV_BYTES || data.length < TAG_BYTES) {
    throw new IntegrityError('sealed value is malformed');
  }
  try {
    const decipher = createDecipheriv(ALGORITHM, dataKey, sealed.iv);
    decipher.setAAD(additionalData(context));
    decipher.setAuthTag(data.subarray(data.length - TAG_BYTES));
    return Buffer.concat([decipher.update(data.subarray(0, data.length - TAG_BYTES)), decipher.final()]).toString('utf8');
  } catch (error) {
    throw new IntegrityError('sealed value failed authentication', { cause: error });
  }
};
