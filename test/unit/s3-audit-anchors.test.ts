import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { describe, expect, it } from 'vitest';
import { anchorKey, S3AuditAnchors } from '../../functions/adapters/s3/s3-audit-anchors.js';
import { buildBlock } from '../../functions/domain/audit/audit-chain.js';
import { IntegrityError } from '../../functions/domain/errors.js';

// fauxqs ignores If-None-Match on PutObject, so the write-once path of the
// anchor adapter is checked here against a client that answers as S3 does.

const block = buildBlock(undefined, '2026-11-22T00:00:00.000Z', [], '2026-11-22T00:01:00.000Z#~', '2026-11-22T00:01:30.000Z');
const other = buildBlock(undefined, '2026-11-22T00:00:00.000Z', [], '2026-11-22T00:02:00.000Z#~', '2026-11-22T00:02:30.000Z');

/** A bucket of one object that refuses a put with If-None-Match: * over an existing key, as S3 does (412). */
const s3WithObject = (existing: unknown) => {
  const puts: PutObjectCommand[] = [];
  const client = {
    send: async (command: { input: Record<string, unknown> }) => {
      if (command instanceof PutObjectCommand) {
        puts.push(command);
        if (existing !== undefined && command.input.IfNoneMatch === '*') {
          throw Object.assign(new Error('At least one of the pre-conditions you specified did not hold'), {
            name: 'PreconditionFailed',
            $metadata: { httpStatusCode: 412 },
          });
        }
        return {};
      }
      if (existing === undefined) throw Object.assign(new Error('missing'), { name: 'NoSuchKey' });
      return { Body: { transformToString: async () => JSON.stringify(existing) } };
    },
  } as unknown as S3Client;
  return { client, puts };
};

describe('S3AuditAnchors', () => {
  it('writes an anchor only where none exists (If-None-Match: *)', async () => {
    const { client, puts } = s3WithObject(undefined);
    await new S3AuditAnchors(client, 'bucket').put(block);
    expect(puts).toHaveLength(1);
    expect(puts[0]!.input).toMatchObject({ Bucket: 'bucket', Key: anchorKey(0), IfNoneMatch: '*' });
    expect(anchorKey(0)).toBe('audit/blocks/000000000000.json');
  });

  it('accepts the same anchor already there (a repeated run)', async () => {
    const { client } = s3WithObject(block);
    await expect(new S3AuditAnchors(client, 'bucket').put(block)).resolves.toBeUndefined();
  });

  it('never replaces an anchor with other contents', async () => {
    const { client } = s3WithObject(other);
    await expect(new S3AuditAnchors(client, 'bucket').put(block)).rejects.toThrow(IntegrityError);
  });
});
