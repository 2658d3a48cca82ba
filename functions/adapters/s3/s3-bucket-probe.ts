import { HeadBucketCommand, type S3Client } from '@aws-sdk/client-s3';
import type { DependencyProbe } from '../../domain/ports/health.js';

/** Readiness of the audit sink: the bucket answers HeadBucket. */
export class S3BucketProbe implements DependencyProbe {
  constructor(
    readonly name: string,
    private readonly client: S3Client,
    private readonly bucket: string,
  ) {}

  async check(): Promise<void> {
    await this.client.send(new HeadBucketCommand({ Bucket: this.bucket }));
  }
}
