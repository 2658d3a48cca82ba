import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { IntegrityError } from '../../functions/domain/errors.js';
import { open, seal, type SealContext } from '../../functions/domain/crypto/envelope.js';

const key = randomBytes(32);
const context: SealContext = { tenantId: 'acme', path: 'app/db/password', version: 3 };

const flipByte = (bytes: Uint8Array, index: number): Buffer => {
  const copy = Buffer.from(bytes);
  copy[index] = (copy[index] ?? 0) ^ 0x01;
  return copy;
};

describe('envelope seal/open', () => {
  it('round-trips a value, including multi-byte UTF-8 and the empty string', () => {
    for (const value of ['s3cret', 'pässwörd ✓ 🔑', '']) {
      const sealed = seal(key, 'dk_1', value, context);
      expect(open(key, sealed, context)).toBe(value);
    }
  });

  it('records the key id and never stores the plaintext in the ciphertext', () => {
    const sealed = seal(key, 'dk_1', 'plain-value-here', context);
    expect(sealed.keyId).toBe('dk_1');
    expect(sealed.iv).toHaveLength(12);
    expect(sealed.ciphertext).toHaveLength('plain-value-here'.length + 16);
    expect(Buffer.from(sealed.ciphertext).includes(Buffer.from('plain-value-here'))).toBe(false);
  });

  it('uses a fresh IV per seal so equal values give different ciphertexts', () => {
    const a = seal(key, 'dk_1', 'same', context);
    const b = seal(key, 'dk_1', 'same', context);
    expect(Buffer.from(a.iv).equals(Buffer.from(b.iv))).toBe(false);
    expect(Buffer.from(a.ciphertext).equals(Buffer.from(b.ciphertext))).toBe(false);
  });

  it.each([
    ['another tenant', { ...context, tenantId: 'other' }],
    ['another path', { ...context, path: 'app/db/user' }],
    ['another version', { ...context, version: 4 }],
  ])('refuses a ciphertext moved to %s', (_, moved) => {
    const sealed = seal(key, 'dk_1', 'value', context);
    expect(() => open(key, sealed, moved)).toThrow(IntegrityError);
  });

  it('refuses a tampered ciphertext body or tag', () => {
    const sealed = seal(key, 'dk_1', 'value', context);
    expect(() => open(key, { ...sealed, ciphertext: flipByte(sealed.ciphertext, 0) }, context)).toThrow(IntegrityError);
    expect(() => open(key, { ...sealed, ciphertext: flipByte(sealed.ciphertext, sealed.ciphertext.length - 1) }, context)).toThrow(IntegrityError);
  });

  it('refuses a tampered IV', () => {
    const sealed = seal(key, 'dk_1', 'value', context);
    expect(() => open(key, { ...sealed, iv: flipByte(sealed.iv, 5) }, context)).toThrow(IntegrityError);
  });

  it('refuses a malformed IV or a ciphertext shorter than the tag', () => {
    const sealed = seal(key, 'dk_1', 'value', context);
    expect(() => open(key, { ...sealed, iv: sealed.iv.subarray(0, 11) }, context)).toThrow(IntegrityError);
    expect(() => open(key, { ...sealed, ciphertext: new Uint8Array(15) }, context)).toThrow(IntegrityError);
  });

  it('refuses to open with a different data key', () => {
    const sealed = seal(key, 'dk_1', 'value', context);
    expect(() => open(randomBytes(32), sealed, context)).toThrow(IntegrityError);
  });
});
