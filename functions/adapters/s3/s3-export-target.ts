import { isMissing } from './s3-audit-anchors.js';
import { s3Sdk, type S3Sender } from './s3-sdk.js';
import type { ExportSink, ExportTarget } from '../../domain/ports/audit.js';

/** S3's smallest part (every part but the last). */
const PART_BYTES = 5 * 1024 * 1024;
/** A part is megabytes, not a small API call: it gets longer than the client's dependency timeout (exports run in a 10 min worker). */
const PART_UPLOAD_TIMEOUT_MS = 60_000;

/**
 * An object written as a multipart upload: bytes are buffered up to one part
 * (5 MiB) and sent, so an export of any size holds at most one part in memory.
 */
class S3MultipartWriter implements ExportSink {
  private uploadId: string | undefined;
  private readonly parts: { ETag: string; PartNumber: number }[] = [];
  private buffered: Buffer[] = [];
  private bufferedBytes = 0;

  constructor(
    private readonly client: S3Sender,
    private readonly bucket: string,
    private readonly key: string,
    private readonly contentType: string,
  ) {}

  async write(chunk: Buffer): Promise<void> {
    this.buffered.push(chunk);
    this.bufferedBytes += chunk.length;
    if (this.bufferedBytes >= PART_BYTES) await this.uploadPart();
  }

  async close(): Promise<void> {
    if (this.bufferedBytes > 0 || this.parts.length === 0) await this.uploadPart();
    const { CompleteMultipartUploadCommand } = await s3Sdk();
    await this.client.send(
      new CompleteMultipartUploadCommand({ Bucket: this.bucket, Key: this.key, UploadId: this.uploadId, MultipartUpload: { Parts: this.parts } }),
    );
  }

  async abort(): Promise<void> {
    if (!this.uploadId) return;
    const { AbortMultipartUploadCommand } = await s3Sdk();
    await this.client.send(new AbortMultipartUploadCommand({ Bucket: this.bucket, Key: this.key, UploadId: this.uploadId }));
  }

  private async uploadPart(): Promise<void> {
    const { CreateMultipartUploadCommand, UploadPartCommand } = await s3Sdk();
    this.uploadId ??= (
      await this.client.send(new CreateMultipartUploadCommand({ Bucket: this.bucket, Key: this.key, ContentType: this.contentType }))
    ).UploadId;
    const body = Buffer.concat(this.buffered);
    this.buffered = [];
    this.bufferedBytes = 0;
    const partNumber = this.parts.length + 1;
    const uploaded = await this.client.send(
      new UploadPartCommand({ Bucket: this.bucket, Key: this.key, UploadId: this.uploadId, PartNumber: partNumber, Body: body }),
      {
        requestTimeout: PART_UPLOAD_TIMEOUT_MS,
      },
    );
    this.parts.push({ ETag: uploaded.ETag ?? '', PartNumber: partNumber });
  }
}

/** Audit exports in the audit bucket: the gzipped lines as a multipart upload, the manifest as JSON. */
export class S3ExportTarget implements ExportTarget {
  constructor(
    private readonly client: S3Sender,
    readonly bucket: string,
  ) {}

  open(key: string, contentType: string): ExportSink {
    return new S3MultipartWriter(this.client, this.bucket, key, contentType);
  }

  async putJson(key: string, value: unknown): Promise<void> {
    const { PutObjectCommand } = await s3Sdk();
    await this.client.send(new PutObjectCommand({ Bucket: this.bucket, Key: key, Body: JSON.stringify(value, null, 2), ContentType: 'application/json' }));
  }

  async getJson<T>(key: string): Promise<T | undefined> {
    try {
      const { GetObjectCommand } = await s3Sdk();
      const object = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
      return JSON.parse(await object.Body!.transformToString()) as T;
    } catch (error) {
      if (isMissing(error)) return undefined;
      throw error;
    }
  }
}
