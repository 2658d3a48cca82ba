import { s3Sdk, type S3Sender } from './s3-sdk.js';
import type { DependencyProbe } from '../../domain/ports/health.js';

/** Readiness of the audit sink: the bucket answers HeadBucket. */
export class S3BucketProbe implements DependencyProbe {
  constructor(
    readonly name: string,
    private readonly client: S3Sender,
    private readonly bucket: string,
  ) {}

  async check(): Promise<void> {
    const { HeadBucketCommand } = await s3Sdk();
    await this.client.send(new HeadBucketCommand({ Bucket: this.bucket }));
  }
}
