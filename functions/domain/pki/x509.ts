// @peculiar/x509, loaded on first use only (the api bundle stays small), with a
// WebCrypto whose `sign` goes to a CaSigner: a sealed key opened in memory,
// AWS KMS `Sign`, or the local key provider, all through one port.
import { webcrypto } from 'node:crypto';

type Crypto = webcrypto.Crypto;
type CryptoKey = webcrypto.CryptoKey;
type BufferSource = webcrypto.BufferSource;
import type { CaSigner } from '../ports/pki.js';
import { lazyModule } from '../lazy-module.js';
import { KEY_TYPE_SPECS } from './key-types.js';

export type X509 = typeof import('@peculiar/x509');

/** The library, with Node's WebCrypto as its provider; PKI and ACME both load it here. */
export const loadX509 = lazyModule(async (): Promise<X509> => {
  // tsyringe (inside @peculiar/x509) needs the Reflect metadata API before it loads.
  await import('reflect-metadata');
  const x509 = await import('@peculiar/x509');
  x509.cryptoProvider.set(webcrypto as never);
  return x509;
});

/** What a generator needs to sign through `signer`: the crypto to pass, the key stand-in and the algorithm. */
export interface SigningParams {
  readonly crypto: Crypto;
  readonly signingKey: CryptoKey;
  readonly signingAlgorithm: { name: string; hash: string };
}

export const signingParams = (signer: CaSigner): SigningParams => {
  const spec = KEY_TYPE_SPECS[signer.keyType];
  const base = webcrypto as unknown as Crypto;
  const subtle = new Proxy(base.subtle, {
    get(target, property) {
      if (property === 'sign') return async (_algorithm: unknown, _key: unknown, data: BufferSource) => toArrayBuffer(await signer.sign(bytesOf(data)));
      const value = Reflect.get(target, property, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
  const crypto = { subtle, getRandomValues: base.getRandomValues.bind(base), randomUUID: base.randomUUID.bind(base) } as unknown as Crypto;
  // Only its `algorithm` is read: the private key itself stays with the signer.
  const signingKey = { algorithm: spec.keyAlgorithm, type: 'private', extractable: false, usages: ['sign'] } as unknown as CryptoKey;
  return { crypto, signingKey, signingAlgorithm: { name: spec.keyAlgorithm.name as string, hash: spec.hash } };
};

const bytesOf = (data: BufferSource): Uint8Array =>
  data instanceof ArrayBuffer ? new Uint8Array(data) : new Uint8Array(data.buffer, data.byteOffset, data.byteLength);

const toArrayBuffer = (bytes: Uint8Array): ArrayBuffer => bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;

/** A random positive serial: 16 random bytes with the top bit cleared (127 bits of entropy), lowercase hex. */
export const randomSerial = (): string => {
  const bytes = webcrypto.getRandomValues(new Uint8Array(16));
  bytes[0] = (bytes[0] ?? 0) & 0x7f;
  // A leading zero byte would be dropped by DER, so keep the first byte non-zero.
  if (bytes[0] === 0) bytes[0] = 1;
  return Buffer.from(bytes).toString('hex');
};
