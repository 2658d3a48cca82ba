import type { CrlPublisher } from '../../domain/ports/pki.js';
import { PKI_CRL_PREFIX } from '../../runtime/definitions.js';
import { s3Sdk, type S3Sender } from './s3-sdk.js';

/** Publishes each CA's signed CRL to the audit bucket: `pki/<tenant>/<ca id>/crl.der` and `crl.pem`. */
export class S3CrlPublisher implements CrlPublisher {
  constructor(
    private readonly client: S3Sender,
    private readonly bucket: string,
  ) {}

  async publish(tenantId: string, caId: string, der: Uint8Array, pem: string): Promise<void> {
    const { PutObjectCommand } = await s3Sdk();
    const prefix = `${PKI_CRL_PREFIX}${tenantId}/${caId}`;
    await Promise.all([
      this.client.send(new PutObjectCommand({ Bucket: this.bucket, Key: `${prefix}/crl.der`, Body: der, ContentType: 'application/pkix-crl' })),
      this.client.send(new PutObjectCommand({ Bucket: this.bucket, Key: `${prefix}/crl.pem`, Body: pem, ContentType: 'application/x-pem-file' })),
    ]);
  }
}
