import { InvalidCiphertextException, type KMSClient } from '@aws-sdk/client-kms';
import { describe, expect, it } from 'vitest';
import { AwsKmsKeyWrapper } from '../../functions/adapters/kms/aws-kms-key-wrapper.js';
import { IntegrityError } from '../../functions/domain/errors.js';
import { fakeAwsClient, type SentCommand } from './support/fake-aws-client.js';

const KEY_ID = 'arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab';

const fakeClient = (respond: (command: SentCommand) => unknown) => fakeAwsClient<KMSClient>(respond);

describe('AwsKmsKeyWrapper', () => {
  it('asks KMS for an AES-256 data key under the configured key, bound to the context', async () => {
    const plaintext = new Uint8Array(32).fill(7);
    const blob = new Uint8Array([1, 2, 3, 4]);
    const { sent, client } = fakeClient(() => ({ Plaintext: plaintext, CiphertextBlob: blob }));
    const result = await new AwsKmsKeyWrapper(client, KEY_ID).generateDataKey({ tenant: 'acme' });

    expect(sent).toHaveLength(1);
    expect(sent[0]!.name).toBe('GenerateDataKeyCommand');
    expect(sent[0]!.input).toEqual({ KeyId: KEY_ID, KeySpec: 'AES_256', EncryptionContext: { tenant: 'acme' } });
    expect(Buffer.isBuffer(result.plaintext)).toBe(true);
    expect(result.plaintext.equals(Buffer.from(plaintext))).toBe(true);
    expect(Buffer.from(result.wrapped).equals(Buffer.from(blob))).toBe(true);
  });

  it('fails when KMS returns no key material', async () => {
    const { client } = fakeClient(() => ({ CiphertextBlob: new Uint8Array([1]) }));
    await expect(new AwsKmsKeyWrapper(client, KEY_ID).generateDataKey({ tenant: 'acme' })).rejects.toThrow();
  });

  it('decrypts with the same key id and encryption context', async () => {
    const blob = new Uint8Array([9, 8, 7]);
    const { sent, client } = fakeClient(() => ({ Plaintext: new Uint8Array(32).fill(3) }));
    const key = await new AwsKmsKeyWrapper(client, KEY_ID).unwrap(blob, { tenant: 'acme' });

    expect(sent[0]!.name).toBe('DecryptCommand');
    expect(sent[0]!.input).toEqual({ KeyId: KEY_ID, CiphertextBlob: blob, EncryptionContext: { tenant: 'acme' } });
    expect(key.equals(Buffer.alloc(32, 3))).toBe(true);
  });

  it('maps InvalidCiphertextException (wrong context or tampered blob) to IntegrityError', async () => {
    const refusal = new InvalidCiphertextException({ message: 'invalid', $metadata: {} });
    const { client } = fakeClient(() => {
      throw refusal;
    });
    const error = await new AwsKmsKeyWrapper(client, KEY_ID).unwrap(new Uint8Array([1]), { tenant: 'acme' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(IntegrityError);
    expect((error as Error).cause).toBe(refusal);
  });

  it('lets other KMS failures through unchanged, so they are not mistaken for tampering', async () => {
    const throttled = Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' });
    const { client } = fakeClient(() => {
      throw throttled;
    });
    const error = await new AwsKmsKeyWrapper(client, KEY_ID).unwrap(new Uint8Array([1]), { tenant: 'acme' }).catch((e: unknown) => e);
    expect(error).toBe(throttled);
    expect(error).not.toBeInstanceOf(IntegrityError);
  });

  it('describes the key with its ARN and KeyState', async () => {
    const { sent, client } = fakeClient(() => ({ KeyMetadata: { Arn: `${KEY_ID}-arn`, KeyState: 'PendingDeletion' } }));
    const status = await new AwsKmsKeyWrapper(client, KEY_ID).describe();
    expect(sent[0]!.name).toBe('DescribeKeyCommand');
    expect(sent[0]!.input).toEqual({ KeyId: KEY_ID });
    expect(status).toEqual({ provider: 'aws-kms', keyId: `${KEY_ID}-arn`, state: 'PendingDeletion' });
  });

  it('reports an Unknown state when KMS returns no metadata', async () => {
    const { client } = fakeClient(() => ({}));
    expect(await new AwsKmsKeyWrapper(client, KEY_ID).describe()).toEqual({ provider: 'aws-kms', keyId: KEY_ID, state: 'Unknown' });
  });

  it('rotates the key material on demand with RotateKeyOnDemand on the configured key', async () => {
    const { sent, client } = fakeClient(() => ({ KeyId: '1234abcd-12ab-34cd-56ef-1234567890ab' }));
    const version = await new AwsKmsKeyWrapper(client, KEY_ID).rotateMasterKey();

    expect(sent).toEqual([{ name: 'RotateKeyOnDemandCommand', input: { KeyId: KEY_ID } }]);
    expect(version).toBe('1234abcd-12ab-34cd-56ef-1234567890ab');
  });

  it("passes a refused on-demand rotation on (e.g. the yearly quota), naming KMS's error", async () => {
    const { client } = fakeClient(() => {
      throw Object.assign(new Error('on-demand rotation limit reached'), { name: 'LimitExceededException' });
    });
    await expect(new AwsKmsKeyWrapper(client, KEY_ID).rotateMasterKey()).rejects.toMatchObject({ name: 'LimitExceededException' });
  });
});
