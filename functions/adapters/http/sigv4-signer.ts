// SigV4 request signing with @smithy/signature-v4 (shipped with the AWS SDK), hashed by node:crypto.
import { createHash, createHmac, type Hash, type Hmac } from 'node:crypto';
import { SignatureV4 } from '@smithy/signature-v4';
import type { OutboundRequest, RequestSigner } from './http-remote-write-sink.js';

type SignerOptions = ConstructorParameters<typeof SignatureV4>[0];

/** The `Checksum` SignatureV4 expects: SHA-256, or HMAC-SHA-256 when given a secret. */
class NodeSha256 {
  private hash: Hash | Hmac;

  constructor(private readonly secret?: string | ArrayBuffer | ArrayBufferView) {
    this.hash = this.fresh();
  }

  update(data: string | ArrayBuffer | ArrayBufferView): void {
    this.hash.update(typeof data === 'string' ? data : toBytes(data));
  }

  async digest(): Promise<Uint8Array> {
    return new Uint8Array(this.hash.digest());
  }

  reset(): void {
    this.hash = this.fresh();
  }

  private fresh(): Hash | Hmac {
    if (this.secret === undefined) return createHash('sha256');
    return createHmac('sha256', typeof this.secret === 'string' ? this.secret : toBytes(this.secret));
  }
}

const toBytes = (data: ArrayBuffer | ArrayBufferView): Uint8Array =>
  ArrayBuffer.isView(data) ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength) : new Uint8Array(data);

/** Signs for `service` in `region` with the credentials the provider gives (a function role's, in Lambda). */
export const sigV4Signer = (options: Pick<SignerOptions, 'region' | 'credentials'> & { service: string }): RequestSigner => {
  const signer = new SignatureV4({ ...options, sha256: NodeSha256, applyChecksum: true });
  return async ({ method, url, headers, body }: OutboundRequest) => {
    const signed = await signer.sign({
      method,
      protocol: url.protocol,
      hostname: url.hostname,
      port: url.port ? Number(url.port) : undefined,
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      headers: { ...headers },
      body,
    });
    return signed.headers;
  };
};
