import { AUDIT_ANCHOR_PREFIX } from '../../runtime/definitions.js';
import { DependencyUnavailableError, IntegrityError } from '../../domain/errors.js';
import type { AuditAnchors, AuditBlock } from '../../domain/ports/audit.js';
import { s3Sdk, type S3Sender } from './s3-sdk.js';

// Each sealed block as one JSON object, `audit/blocks/<seq, 12 digits>.json`.
// In AWS the bucket has object lock: in compliance mode (`-c auditRetentionMode=compliance`)
// an anchor cannot be rewritten or deleted before its retention ends, not even by
// the account root; in governance mode (the default) only with a bypass permission.

export const anchorKey = (seq: number): string => `${AUDIT_ANCHOR_PREFIX}${String(seq).padStart(12, '0')}.json`;

const isPreconditionFailed = (error: unknown): boolean =>
  error instanceof Error && (error.name === 'PreconditionFailed' || (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 412);

export const isMissing = (error: unknown): boolean =>
  error instanceof Error &&
  (error.name === 'NoSuchKey' || error.name === 'NotFound' || (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 404);

export class S3AuditAnchors implements AuditAnchors {
  constructor(
    private readonly client: S3Sender,
    private readonly bucket: string,
  ) {}

  /**
   * Writes the anchor only if none exists (If-None-Match: *; the stack's bucket
   * policy refuses anchor writes without it). An existing anchor of the same
   * block is fine (a repeated run); one with other contents is never replaced.
   */
  async put(block: AuditBlock): Promise<void> {
    try {
      const { PutObjectCommand } = await s3Sdk();
      await this.client.send(
        new PutObjectCommand({
          Bucket: this.bucket,
          Key: anchorKey(block.seq),
          Body: JSON.stringify(block),
          ContentType: 'application/json',
          IfNoneMatch: '*',
        }),
      );
      return;
    } catch (error) {
      if (!isPreconditionFailed(error)) throw new DependencyUnavailableError('s3', { cause: error });
    }
    const existing = await this.get(block.seq);
    if (existing?.hash !== block.hash) throw new IntegrityError(`audit anchor ${block.seq} already exists with other contents; run GET /v1/audit/verify`);
  }

  async get(seq: number): Promise<AuditBlock | undefined> {
    try {
      const { GetObjectCommand } = await s3Sdk();
      const object = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: anchorKey(seq) }));
      return JSON.parse(await object.Body!.transformToString()) as AuditBlock;
    } catch (error) {
      if (isMissing(error)) return undefined;
      throw new DependencyUnavailableError('s3', { cause: error });
    }
  }

  async exists(seq: number): Promise<boolean> {
    try {
      const { HeadObjectCommand } = await s3Sdk();
      await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: anchorKey(seq) }));
      return true;
    } catch (error) {
      if (isMissing(error)) return false;
      throw new DependencyUnavailableError('s3', { cause: error });
    }
  }
}
