import { GetObjectCommand, HeadObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { AuditAnchors, AuditBlock } from '../../domain/audit/audit-ports.js';
import { DependencyUnavailableError } from '../../domain/errors.js';

// Each sealed block as one JSON object, `audit/blocks/<seq, 12 digits>.json`.
// In AWS the bucket has object lock: in compliance mode (`-c auditRetentionMode=compliance`)
// an anchor cannot be rewritten or deleted before its retention ends, not even by
// the account root; in governance mode (the default) only with a bypass permission.

export const anchorKey = (seq: number): string => `audit/blocks/${String(seq).padStart(12, '0')}.json`;

export const isMissing = (error: unknown): boolean =>
  error instanceof Error && (error.name === 'NoSuchKey' || error.name === 'NotFound' || (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 404);

export class S3AuditAnchors implements AuditAnchors {
  constructor(
    private readonly client: S3Client,
    private readonly bucket: string,
  ) {}

  async put(block: AuditBlock): Promise<void> {
    try {
      await this.client.send(
        new PutObjectCommand({ Bucket: this.bucket, Key: anchorKey(block.seq), Body: JSON.stringify(block), ContentType: 'application/json' }),
      );
    } catch (error) {
      throw new DependencyUnavailableError('s3', { cause: error });
    }
  }

  async get(seq: number): Promise<AuditBlock | undefined> {
    try {
      const object = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: anchorKey(seq) }));
      return JSON.parse(await object.Body!.transformToString()) as AuditBlock;
    } catch (error) {
      if (isMissing(error)) return undefined;
      throw new DependencyUnavailableError('s3', { cause: error });
    }
  }

  async exists(seq: number): Promise<boolean> {
    try {
      await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: anchorKey(seq) }));
      return true;
    } catch (error) {
      if (isMissing(error)) return false;
      throw new DependencyUnavailableError('s3', { cause: error });
    }
  }
}
